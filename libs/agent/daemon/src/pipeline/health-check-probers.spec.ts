import { HealthCheckProbers } from './health-check-probers';

describe('HealthCheckProbers', () => {
  it('remembers a prober for its time to live after its last probe', () => {
    const sut = new HealthCheckProbers({ ttlMs: 10_000 });
    sut.saw('192.0.2.7', 1000);
    sut.saw('192.0.2.7', 6000);
    expect(sut.has('192.0.2.7', 16_000)).toBe(true);
    expect(sut.has('192.0.2.7', 16_001)).toBe(false);
    expect(sut.has('192.0.2.8', 1000)).toBe(false);
    expect(sut.size).toBe(0);
  });

  it('forgets the longest silent first beyond its bound', () => {
    const sut = new HealthCheckProbers({ maxAddresses: 2 });
    sut.saw('192.0.2.1', 1);
    sut.saw('192.0.2.2', 2);
    sut.saw('192.0.2.1', 3);
    sut.saw('192.0.2.3', 4);
    expect(sut.addresses(5)).toEqual(['192.0.2.1', '192.0.2.3']);
  });
});
