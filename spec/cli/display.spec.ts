import { expect } from 'chai';
import { asText, describeBytes, quoted, showBytes, terminalSafe, truncate } from '../../lib/cli/display.js';

describe('terminalSafe', () => {
  it('escapes everything that could drive a terminal', () => {
    expect(terminalSafe('a\u001b[31mred\u001b[0m')).to.equal('a\\u001b[31mred\\u001b[0m');
    expect(terminalSafe('\u001b]0;title\u0007')).to.equal('\\u001b]0;title\\u0007');
    expect(terminalSafe('line\nbreak\r\tend')).to.equal('line\\nbreak\\r\\tend');
    expect(terminalSafe('nul\u0000del\u007f')).to.equal('nul\\u0000del\\u007f');
    // C1 CSI (a one-character escape sequence on some terminals), bidi overrides and isolates,
    // zero-width and line separators.
    expect(terminalSafe('\u009b2J')).to.equal('\\u009b2J');
    expect(terminalSafe('abc\u202edcba\u2066x\u2069')).to.equal('abc\\u202edcba\\u2066x\\u2069');
    expect(terminalSafe('a\u200bb\u2028c\ufeff')).to.equal('a\\u200bb\\u2028c\\ufeff');
  });

  it('leaves ordinary text alone, non-ASCII included', () => {
    const text = 'Zoë paid 12,50 € — 日本語 🎉 "quoted" \\ back';
    expect(terminalSafe(text)).to.equal(text);
  });
});

describe('quoted', () => {
  it('quotes, escaping quotes and backslashes, and is terminal-safe', () => {
    expect(quoted('say "hi"\\now\u001b')).to.equal('"say \\"hi\\"\\\\now\\u001b"');
  });
});

describe('truncate', () => {
  it('cuts after whole characters, never inside one', () => {
    expect(truncate('🎉🎉🎉', 2)).to.deep.equal({ text: '🎉🎉', truncated: true });
    expect(truncate('abc', 3)).to.deep.equal({ text: 'abc', truncated: false });
  });
});

describe('asText', () => {
  it('is the text of valid UTF-8 without NUL, and undefined for anything else', () => {
    expect(asText(Buffer.from('héllo'))).to.equal('héllo');
    expect(asText(Buffer.alloc(0))).to.equal('');
    expect(asText(Buffer.from([0xc3, 0x28]))).to.equal(undefined);
    expect(asText(Buffer.from([0x41, 0x00, 0x42]))).to.equal(undefined);
    expect(asText(Buffer.from([0xe2, 0x82]))).to.equal(undefined);
  });
});

describe('showBytes (JSON)', () => {
  it('shows text as text and binary as base64, with the full length', () => {
    expect(showBytes(null)).to.deep.equal({ bytes: null, encoding: null, data: null, truncated: false });
    expect(showBytes(Buffer.from('{"a":1}'))).to.deep.equal({
      bytes: 7,
      encoding: 'utf8',
      data: '{"a":1}',
      truncated: false,
    });
    expect(showBytes(Buffer.from([0xff, 0x00, 0x1b]))).to.deep.equal({
      bytes: 3,
      encoding: 'base64',
      data: '/wAb',
      truncated: false,
    });
  });

  it('cuts long values', () => {
    expect(showBytes(Buffer.from('é'.repeat(300)), 200)).to.deep.equal({
      bytes: 600,
      encoding: 'utf8',
      data: 'é'.repeat(200),
      truncated: true,
    });
    const binary = Buffer.alloc(1000, 0xff);
    const shown = showBytes(binary, 200, 150);
    expect(shown).to.deep.include({ bytes: 1000, encoding: 'base64', truncated: true });
    expect(Buffer.from(shown.data!, 'base64')).to.have.length(150);
  });
});

describe('describeBytes (terminal)', () => {
  it('quotes text, escaped', () => {
    expect(describeBytes(Buffer.from('{"x":"\u001b[2J"}'))).to.equal('"{\\"x\\":\\"\\u001b[2J\\"}"');
    expect(describeBytes(null)).to.equal('null');
    expect(describeBytes(Buffer.alloc(0))).to.equal('""');
  });

  it('shows binary as the first bytes in hex', () => {
    expect(describeBytes(Buffer.from([0xff, 0x00, 0x1b, 0x41]))).to.equal('<binary 4 bytes: ff 00 1b 41>');
    expect(describeBytes(Buffer.alloc(30, 0xab), 80, 4)).to.equal('<binary 30 bytes: ab ab ab ab …>');
  });

  it('marks a cut', () => {
    expect(describeBytes(Buffer.from('x'.repeat(100)), 10)).to.equal('"xxxxxxxxxx"… (100 bytes)');
  });
});
