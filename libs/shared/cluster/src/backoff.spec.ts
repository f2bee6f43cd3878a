import { backoffDelay } from './backoff';

describe('backoffDelay', () => {
  const policy = { initialMs: 100, maxMs: 1000 };

  it.each([
    // [failures, random, delay]
    [1, 1, 100],
    [1, 0, 50],
    [2, 1, 200],
    [3, 1, 400],
    [4, 1, 800],
    [5, 1, 1000],
    [5, 0, 500],
    [1000, 1, 1000],
    [0, 1, 100],
  ])('after %i failure(s) with random %d waits %i ms', (failures, random, delay) => {
    expect(backoffDelay(failures, policy, () => random)).toBe(delay);
  });
});
