import { expect } from 'chai';
import { seededRandom } from '../../loadtest/random.js';
import {
  compileTemplate,
  DEFAULT_TEMPLATE,
  injectField,
  malform,
  padTo,
  uuid,
} from '../../loadtest/template.js';

const context = (seq: number, random = seededRandom(1)) => ({ seq, now: 1_700_000_000_123, random });

describe('loadtest templates', () => {
  it('renders the default template to a JSON object with a UUID Id and the sequence number', () => {
    const event = JSON.parse(compileTemplate(DEFAULT_TEMPLATE).render(context(42))) as {
      Id: string;
      seq: number;
    };
    expect(event.seq).to.equal(42);
    expect(event.Id).to.match(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('replaces {{seq}}, {{now}} and {{random:MIN:MAX}} verbatim, tolerating spaces inside braces', () => {
    const template = compileTemplate('{"s":{{seq}},"t":{{ now }},"r":{{random:5:5}},"q":"{{seq}}"}');
    expect(template.render(context(7))).to.equal('{"s":7,"t":1700000000123,"r":5,"q":"7"}');
  });

  it('keeps {{random:MIN:MAX}} within its bounds, both included', () => {
    const template = compileTemplate('{{random:-2:2}}');
    const random = seededRandom(9);
    const seen = new Set<number>();
    for (let i = 0; i < 2000; i++) seen.add(Number(template.render({ seq: i, now: 0, random })));
    expect([...seen].sort((a, b) => a - b)).to.deep.equal([-2, -1, 0, 1, 2]);
  });

  it('renders the same payloads again from the same seed', () => {
    const template = compileTemplate('{{uuid}} {{random:1:1000000}}');
    const a = template.render(context(1, seededRandom(5)));
    const b = template.render(context(1, seededRandom(5)));
    const c = template.render(context(1, seededRandom(6)));
    expect(a).to.equal(b);
    expect(a).not.to.equal(c);
  });

  it('leaves text without placeholders alone, and refuses unknown or malformed placeholders', () => {
    expect(compileTemplate('plain {text}').render(context(0))).to.equal('plain {text}');
    expect(() => compileTemplate('{{nope}}')).to.throw(/unknown template placeholder \{\{nope\}\}/);
    expect(() => compileTemplate('{{random:9:1}}')).to.throw(/MIN <= MAX/);
    expect(() => compileTemplate('{{random:a:b}}')).to.throw(/unknown template placeholder/);
  });

  it('makes distinct version-4 UUIDs', () => {
    const random = seededRandom(3);
    const ids = new Set(Array.from({ length: 1000 }, () => uuid(random)));
    expect(ids.size).to.equal(1000);
  });

  describe('padTo', () => {
    it('pads an object with a _pad field to exactly the size, staying valid JSON', () => {
      for (const size of [40, 100, 1024]) {
        const padded = padTo('{"Id":"a","seq":1}', size);
        expect(Buffer.byteLength(padded)).to.equal(size);
        expect(JSON.parse(padded)).to.include({ Id: 'a', seq: 1 });
      }
      expect(JSON.parse(padTo('{}', 20))).to.have.property('_pad');
      expect(Buffer.byteLength(padTo('{ }', 20))).to.equal(20);
    });

    it('counts bytes, not characters', () => {
      const padded = padTo('{"name":"Zoë ✓"}', 64);
      expect(Buffer.byteLength(padded)).to.equal(64);
      expect(JSON.parse(padded)).to.have.property('name', 'Zoë ✓');
    });

    it('uses trailing spaces for non-objects and objects too close to the size for a field', () => {
      expect(padTo('[1,2]', 8)).to.equal('[1,2]   ');
      const tight = padTo('{"a":1}', 10);
      expect(tight).to.equal('{"a":1}   ');
      expect(JSON.parse(tight)).to.deep.equal({ a: 1 });
    });

    it('leaves a payload that is already long enough unchanged', () => {
      expect(padTo('{"a":"long"}', 5)).to.equal('{"a":"long"}');
    });
  });

  it('injects a field first into an object, empty or not, and refuses non-objects', () => {
    expect(JSON.parse(injectField('{"Id":"x"}', 'loadtest_fail', '2'))).to.deep.equal({
      loadtest_fail: 2,
      Id: 'x',
    });
    expect(JSON.parse(injectField(' { } ', 'f', 'true'))).to.deep.equal({ f: true });
    expect(() => injectField('[1]', 'f', '1')).to.throw(/not a JSON object/);
  });

  it('malforms any payload into something JSON.parse rejects', () => {
    for (const payload of ['{"Id":"x","seq":1}', '[1,2,3]', '"text"', '42', '{}', 'x']) {
      const bad = malform(payload);
      expect(() => JSON.parse(bad), `${payload} → ${bad}`).to.throw(SyntaxError);
      expect(Math.abs(bad.length - payload.length)).to.be.at.most(1);
    }
  });
});
