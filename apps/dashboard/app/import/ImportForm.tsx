'use client';

import { useRef, useState } from 'react';
import { type ImportError, type ImportResult, readImportAnswer } from './import-result';

type Phase = { kind: 'idle' } | { kind: 'uploading'; sent: number; total: number } | { kind: 'processing' } | { kind: 'done'; result: ImportResult } | { kind: 'failed'; error: ImportError };

const FORMATS = [
  ['auto', 'Detect (pcap, pcapng, else conntrack text)'],
  ['pcap', 'pcap'],
  ['pcapng', 'pcapng'],
  ['conntrack', 'conntrack -L (text or XML)'],
] as const;

const mb = (bytes: number) => (bytes < 10_000 ? `${bytes.toLocaleString('en-US')} bytes` : `${(bytes / 1e6).toFixed(bytes < 1e6 ? 2 : 1)} MB`);

/**
 * Upload with progress: XMLHttpRequest, because fetch reports no upload progress. The bar follows the bytes sent;
 * the hub decodes while they arrive, so once they are all sent only the last batches remain to be stored.
 */
export function ImportForm({ enabled }: { enabled: boolean }) {
  const fileInput = useRef<HTMLInputElement>(null);
  const [node, setNode] = useState('');
  const [format, setFormat] = useState<string>('auto');
  const [phase, setPhase] = useState<Phase>({ kind: 'idle' });
  const busy = phase.kind === 'uploading' || phase.kind === 'processing';

  const submit = (event: React.FormEvent) => {
    event.preventDefault();
    const file = fileInput.current?.files?.[0];
    if (!file) return setPhase({ kind: 'failed', error: { status: 0, code: 'no-file', message: 'choose a file to import' } });
    if (node.trim() === '') return setPhase({ kind: 'failed', error: { status: 0, code: 'no-node', message: 'name the node the file was taken on: its records are stored under it' } });
    const query = new URLSearchParams({ node: node.trim(), format, name: file.name });
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `/import/upload?${query.toString()}`);
    xhr.setRequestHeader('Content-Type', 'application/octet-stream');
    xhr.upload.onprogress = (e) => setPhase({ kind: 'uploading', sent: e.loaded, total: e.lengthComputable ? e.total : file.size });
    xhr.upload.onload = () => setPhase({ kind: 'processing' });
    xhr.onload = () => {
      const answer = readImportAnswer(xhr.status, xhr.responseText);
      setPhase('result' in answer ? { kind: 'done', result: answer.result } : { kind: 'failed', error: answer.error });
    };
    xhr.onerror = () => setPhase({ kind: 'failed', error: { status: 0, code: 'network', message: 'the upload was interrupted (network error); try again: importing a file twice is safe' } });
    setPhase({ kind: 'uploading', sent: 0, total: file.size });
    xhr.send(file);
  };

  return (
    <>
      <form className="panel filters" onSubmit={submit} data-testid="import-form">
        <label>
          <span>File</span>
          <input ref={fileInput} type="file" name="file" accept=".pcap,.pcapng,.cap,.txt,.xml,application/vnd.tcpdump.pcap" data-testid="import-file" disabled={!enabled || busy} />
        </label>
        <label>
          <span>Node</span>
          <input type="text" name="node" value={node} onChange={(e) => setNode(e.target.value)} placeholder="node1" data-testid="import-node" disabled={!enabled || busy} />
        </label>
        <label>
          <span>Format</span>
          <select value={format} onChange={(e) => setFormat(e.target.value)} data-testid="import-format" disabled={!enabled || busy}>
            {FORMATS.map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </select>
        </label>
        <button type="submit" className="btn primary" disabled={!enabled || busy} data-testid="import-submit">
          Import
        </button>
      </form>
      {phase.kind === 'uploading' && (
        <div className="panel" data-testid="import-progress">
          <div className="bar" role="progressbar" aria-valuemin={0} aria-valuemax={phase.total} aria-valuenow={phase.sent}>
            <span style={{ width: `${phase.total > 0 ? (100 * phase.sent) / phase.total : 0}%` }} />
          </div>
          <p className="muted">
            Uploading {mb(phase.sent)} of {mb(phase.total)}
          </p>
        </div>
      )}
      {phase.kind === 'processing' && (
        <div className="panel" data-testid="import-progress">
          <p className="muted">Uploaded; the hub is storing the last records…</p>
        </div>
      )}
      {phase.kind === 'failed' && (
        <div className="error" data-testid="import-error" data-code={phase.error.code}>
          <strong>Import failed{phase.error.status ? ` (${phase.error.status})` : ''}:</strong> {phase.error.message}
        </div>
      )}
      {phase.kind === 'done' && <ImportSummary result={phase.result} />}
    </>
  );
}

function ImportSummary({ result }: { result: ImportResult }) {
  const verdicts = Object.entries(result.byVerdict).sort(([a], [b]) => a.localeCompare(b));
  return (
    <section className="panel" data-testid="import-result">
      <h2>
        {result.file}: {result.format}, node {result.node}
      </h2>
      <div className="cards">
        <div className="card">
          <div className="label">Records imported</div>
          <div className="value" data-result="records">{result.sent.toLocaleString('en-US')}</div>
        </div>
        <div className="card">
          <div className="label">New (not imported before)</div>
          <div className="value" data-result="inserted">{result.inserted.toLocaleString('en-US')}</div>
        </div>
        <div className="card">
          <div className="label">Connections</div>
          <div className="value" data-result="connections">{result.connections.toLocaleString('en-US')}</div>
        </div>
        <div className="card">
          <div className="label">Packets</div>
          <div className="value" data-result="packets">
            {result.packets.toLocaleString('en-US')}
            {result.malformedPackets > 0 ? ` (${result.malformedPackets} malformed)` : ''}
          </div>
        </div>
        <div className="card">
          <div className="label">Read</div>
          <div className="value">{mb(result.bytes)} in {(result.durationMs / 1000).toFixed(1)} s</div>
        </div>
      </div>
      <h3>By verdict</h3>
      {verdicts.length === 0 ? (
        <p className="muted">No records: nothing in the file was a TCP connection or a conntrack entry.</p>
      ) : (
        <table data-testid="import-verdicts">
          <tbody>
            {verdicts.map(([verdict, n]) => (
              <tr key={verdict} data-verdict={verdict}>
                <td>
                  <span className={`badge v-${verdict}`}>{verdict}</span>
                </td>
                <td data-col="count">{n.toLocaleString('en-US')}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {result.errorCount > 0 && (
        <div className="notice" data-testid="import-file-errors">
          <strong>
            {result.errorCount} damaged part(s) of the file were skipped; the rest was imported.
          </strong>
          <ul>
            {result.errors.map((e) => (
              <li key={`${e.offset}-${e.message}`} data-offset={e.offset}>
                at byte {e.offset.toLocaleString('en-US')}: {e.message}
              </li>
            ))}
          </ul>
          {result.errorCount > result.errors.length && <p>… and {result.errorCount - result.errors.length} more.</p>}
        </div>
      )}
    </section>
  );
}
