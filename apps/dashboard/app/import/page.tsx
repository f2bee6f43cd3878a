import { ImportForm } from './ImportForm';
import { importConfig } from './import-config';

export const dynamic = 'force-dynamic';

export default function ImportPage() {
  const config = importConfig();
  return (
    <>
      <h1>Import</h1>
      <p className="muted">
        A capture (pcap or pcapng, e.g. <code>tcpdump -i any -w node1.pcap &apos;tcp port 30080&apos;</code>) or a saved conntrack table
        (<code>conntrack -L</code>, <code>-o extended</code> or <code>-o xml</code>) taken on one node, stored as that node&apos;s records. Importing the same
        file twice changes nothing. Damaged parts are listed with their byte offsets; everything readable is still imported.
      </p>
      {!config.ok && (
        <div className="notice" data-testid="import-disabled">
          {config.message}
        </div>
      )}
      <ImportForm enabled={config.ok} />
    </>
  );
}
