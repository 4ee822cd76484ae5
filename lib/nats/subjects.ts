/**
 * Whether `subject` is one of the subjects `filter` takes: tokens are compared one by one,
 * "*" takes any one token and a final ">" takes one or more.
 */
export function subjectMatches(filter: string, subject: string): boolean {
  const wanted = filter.split('.');
  const tokens = subject.split('.');
  for (let i = 0; i < wanted.length; i++) {
    const token = wanted[i]!;
    if (token === '>') return tokens.length > i;
    if (i >= tokens.length) return false;
    if (token !== '*' && token !== tokens[i]) return false;
  }
  return tokens.length === wanted.length;
}

/**
 * The stream the service creates for a subject it writes to (CREATE_TOPICS=true): stream names
 * may not hold ".", "*" or ">", so those become "_".
 */
export function streamNameFor(subject: string): string {
  return subject.replace(/[.*>]/g, '_');
}
