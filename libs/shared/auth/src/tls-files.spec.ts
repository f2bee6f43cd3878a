import { readFileSync } from 'node:fs';
import { makeTestPki, type TestPki } from './testing';
import { readTlsFiles } from './tls-files';

describe('readTlsFiles', () => {
  let pki: TestPki;
  let server: ReturnType<TestPki['issue']>;
  let other: ReturnType<TestPki['issue']>;
  const read = (path: string) => readFileSync(path, 'utf8');
  beforeAll(() => {
    pki = makeTestPki();
    server = pki.issue('server');
    other = pki.issue('other');
  });
  afterAll(() => pki.dispose());

  it('reads a certificate, its key and a CA', () => {
    const { material, problems } = readTlsFiles({ certFile: server.certFile, keyFile: server.keyFile, caFile: pki.caFile }, read, 'hub TLS');
    expect(problems).toEqual([]);
    expect(material).toEqual({ cert: server.cert, key: server.key, ca: pki.ca });
  });

  it('reads nothing when nothing is set', () => {
    expect(readTlsFiles({}, read, 'hub TLS')).toEqual({ material: {}, problems: [] });
  });

  it.each([
    ['a certificate without its key', () => ({ certFile: server.certFile }), /a certificate needs its key/],
    ['a missing file', () => ({ caFile: '/nonexistent/ca.crt' }), /hub TLS CA file \/nonexistent\/ca\.crt: ENOENT/],
    ['a key where the certificate belongs', () => ({ certFile: server.keyFile, keyFile: server.keyFile }), /certificate file .* holds no PEM certificate/],
    ['a key of another certificate', () => ({ certFile: server.certFile, keyFile: other.keyFile }), /do not go together/],
  ])('refuses %s', (_name, paths, problem) => {
    expect(readTlsFiles(paths(), read, 'hub TLS').problems).toEqual(expect.arrayContaining([expect.stringMatching(problem)]));
  });
});
