import fc from 'fast-check';
import { MAX_HEALTH_BODY_BYTES, parseProxyHealthBody, parseServiceHealthBody } from './health-check-body';

// kube-proxy's answers, as pkg/proxy/healthcheck writes them (indented, with a trailing newline on some releases).
const KUBE_PROXY_200 = '{\n\t"service": {\n\t\t"namespace": "default",\n\t\t"name": "web"\n\t},\n\t"localEndpoints": 2,\n\t"serviceProxyHealthy": true\n}';
const KUBE_PROXY_503 = '{"service":{"namespace":"shop","name":"echo"},"localEndpoints":0,"serviceProxyHealthy":true}\n';

describe('parseServiceHealthBody', () => {
  it.each<[string, string, object]>([
    ['kube-proxy with local endpoints', KUBE_PROXY_200, { localEndpoints: 2, service: { namespace: 'default', name: 'web' }, serviceProxyHealthy: true }],
    ['kube-proxy without any', KUBE_PROXY_503, { localEndpoints: 0, service: { namespace: 'shop', name: 'echo' }, serviceProxyHealthy: true }],
    ['an unhealthy proxy', '{"localEndpoints":1,"serviceProxyHealthy":false}', { localEndpoints: 1, serviceProxyHealthy: false }],
    ['only the count (an older release)', '{"localEndpoints": 3}', { localEndpoints: 3 }],
    ['a service that is not two strings is left out', '{"localEndpoints":1,"service":{"namespace":7}}', { localEndpoints: 1 }],
  ])('reads %s', (_case, body, expected) => {
    expect(parseServiceHealthBody(body)).toEqual({ ok: true, value: expected });
  });

  it.each<[string, string, RegExp]>([
    ['an HTML error page', '<html><body>502 Bad Gateway</body></html>', /not JSON/],
    ['an empty body', '', /not JSON/],
    ['a JSON array', '[1,2]', /not an object/],
    ['null', 'null', /not an object/],
    ['no count', '{"service":{"namespace":"a","name":"b"}}', /"localEndpoints" is missing/],
    ['a negative count', '{"localEndpoints":-1}', /not a count/],
    ['a fractional count', '{"localEndpoints":1.5}', /not a count/],
    ['a count as text', '{"localEndpoints":"2"}', /not a count/],
    ['a huge body', `{"localEndpoints":1,"pad":"${'x'.repeat(MAX_HEALTH_BODY_BYTES)}"}`, /bytes, not kube-proxy/],
  ])('says what is wrong with %s', (_case, body, problem) => {
    const reading = parseServiceHealthBody(body);
    expect(reading.ok).toBe(false);
    if (!reading.ok) expect(reading.problem).toMatch(problem);
  });

  it('never throws, and a count it reports is a whole number ≥ 0, over any text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => {
        const reading = parseServiceHealthBody(text);
        if (reading.ok) expect(Number.isSafeInteger(reading.value.localEndpoints) && reading.value.localEndpoints >= 0).toBe(true);
        else expect(reading.problem.length).toBeGreaterThan(0);
      }),
      { numRuns: 2000 },
    );
  });

  it('never throws over JSON of any shape, and reads a count only when it is one', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.oneof(fc.constant(undefined), fc.jsonValue()), (value, count) => {
        const body = JSON.stringify(typeof value === 'object' && value !== null && !Array.isArray(value) && count !== undefined ? { ...value, localEndpoints: count } : value);
        const reading = parseServiceHealthBody(body ?? '');
        const isCount = typeof count === 'number' && Number.isSafeInteger(count) && count >= 0;
        // JSON has no -0 (JSON.stringify(-0) is "0"): compare as numbers, not with Object.is
        if (reading.ok) expect(reading.value.localEndpoints === count).toBe(true);
        else if (typeof value === 'object' && value !== null && !Array.isArray(value) && isCount && (body ?? '').length <= MAX_HEALTH_BODY_BYTES) throw new Error(`refused ${body}`);
      }),
      { numRuns: 2000 },
    );
  });

  it('never throws over truncated and bit-flipped kube-proxy answers', () => {
    fc.assert(
      fc.property(fc.nat(KUBE_PROXY_200.length), fc.nat(KUBE_PROXY_200.length - 1), fc.integer({ min: 1, max: 255 }), (cut, at, flip) => {
        const bytes = Buffer.from(KUBE_PROXY_200.slice(0, cut));
        if (at < bytes.length) bytes[at] = (bytes[at] ?? 0) ^ flip;
        const reading = parseServiceHealthBody(bytes.toString('latin1'));
        if (reading.ok) expect(reading.value.localEndpoints).toBeGreaterThanOrEqual(0);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('parseProxyHealthBody', () => {
  it.each<[string, string, object]>([
    ['kube-proxy', '{"lastUpdated": "2024-05-01 10:00:00.1 +0000 UTC","currentTime": "2024-05-01 10:00:01.2 +0000 UTC", "nodeEligible": true}', { lastUpdated: '2024-05-01 10:00:00.1 +0000 UTC', currentTime: '2024-05-01 10:00:01.2 +0000 UTC', nodeEligible: true }],
    ['an older release without nodeEligible', '{"lastUpdated":"a","currentTime":"b"}', { lastUpdated: 'a', currentTime: 'b' }],
    ['fields of the wrong type are left out', '{"lastUpdated":1,"nodeEligible":"yes"}', {}],
  ])('reads %s', (_case, body, expected) => {
    expect(parseProxyHealthBody(body)).toEqual({ ok: true, value: expected });
  });

  it('never throws over any text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => {
        const reading = parseProxyHealthBody(text);
        expect(typeof reading.ok).toBe('boolean');
      }),
      { numRuns: 1000 },
    );
  });
});
