import { startTestHub, type TestHub } from '../testing';

/* Liveness costs nothing and never asks the store; readiness asks the store one trivial question. */
describe('GET /healthz and /readyz', () => {
  let sut: TestHub;
  beforeAll(async () => {
    sut = await startTestHub();
  });
  afterAll(async () => {
    await sut.close();
  });

  it('/healthz answers without asking the store; /readyz answers 503 saying why once the store is gone', async () => {
    const count = jest.spyOn(sut.hub.repository, 'countFlows');
    const ping = jest.spyOn(sut.hub.repository, 'ping');
    expect((await sut.request('GET', '/readyz', { token: null })).status).toBe(200);
    expect(ping).toHaveBeenCalledTimes(1);

    // The real store, closed: any store work now throws ("The database connection is not open").
    await sut.hub.repository.close();
    const live = await sut.request('GET', '/healthz', { token: null });
    expect(live).toEqual({ status: 200, body: { status: 'ok', cluster: expect.anything(), bus: expect.any(String) } });
    expect(count).not.toHaveBeenCalled();
    expect(ping).toHaveBeenCalledTimes(1);

    const ready = await sut.request('GET', '/readyz', { token: null });
    expect(ready).toEqual({ status: 503, body: { status: 503, code: 'store-unavailable', message: expect.stringMatching(/the store does not answer: .*not open.*NATLENS_STORE/) } });
  });
});
