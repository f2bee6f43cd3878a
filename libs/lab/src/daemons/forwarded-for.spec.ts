import fc from 'fast-check';
import { ForwardedForInserter } from './forwarded-for';

async function through(chunks: string[], client = '198.51.100.79'): Promise<string> {
  const sut = new ForwardedForInserter(client);
  const out: Buffer[] = [];
  sut.on('data', (b: Buffer) => out.push(b));
  const ended = new Promise<void>((resolve) => sut.on('end', () => resolve()));
  for (const c of chunks) sut.write(Buffer.from(c, 'latin1'));
  sut.end();
  await ended;
  return Buffer.concat(out).toString('latin1');
}

const GET = 'GET / HTTP/1.1\r\nHost: web\r\n\r\n';
const XFF = 'GET / HTTP/1.1\r\nX-Forwarded-For: 198.51.100.79\r\nHost: web\r\n\r\n';

describe('ForwardedForInserter', () => {
  it.each([
    ['one request in one chunk', [GET], XFF],
    ['the request line split', ['GE', 'T / HTTP/1.', '1\r', '\nHost: web\r\n\r\n'], XFF],
    ['two requests on a keep-alive connection', [GET + GET], XFF + XFF],
    ['the blank line split between chunks', ['GET / HTTP/1.1\r\nHost: web\r\n\r', '\n', GET], XFF + XFF],
    ['a stream that ends inside the request line', ['GET / HT'], 'GET / HT'],
  ])('%s', async (_name, chunks, expected) => {
    expect(await through(chunks)).toBe(expected);
  });

  it('gives the same bytes however the stream is cut', async () => {
    const stream = GET + 'GET /x HTTP/1.1\r\nHost: api\r\nAccept: */*\r\n\r\n' + GET;
    const expected = await through([stream]);
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(fc.integer({ min: 1, max: stream.length - 1 }), { maxLength: 12 }), async (cuts) => {
        const points = [0, ...cuts.sort((a, b) => a - b), stream.length];
        const chunks = points.slice(1).map((end, i) => stream.slice(points[i], end));
        expect(await through(chunks)).toBe(expected);
      }),
    );
    expect(expected.match(/X-Forwarded-For: 198\.51\.100\.79\r\n/g)).toHaveLength(3);
  });
});
