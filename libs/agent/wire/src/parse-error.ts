/** A malformed input: where in the buffer it went wrong and what was expected there. */
export class ParseError extends Error {
  constructor(
    readonly offset: number,
    readonly expected: string,
    readonly what = 'input',
  ) {
    super(`${what}: at byte ${offset}: expected ${expected}`);
    this.name = 'ParseError';
  }
}
