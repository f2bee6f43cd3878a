/*
 * Source ports for `lab traffic` over UDP. Each datagram is one "connection", so it must carry a 5-tuple conntrack
 * does not hold yet: a port the kernel picked at random would repeat within conntrack's UDP timeout (30 s) about
 * n²/2·28,000 times in n datagrams (≈6 in 600), and the repeat would join its predecessor's entry, one connection
 * for two in the ground truth. So the lab hands out ports in sequence, per lab, across runs: a port comes round
 * again only after 40,000 datagrams. Pure; the counter lives in the lab's directory (lab.ts).
 */
export const UDP_SOURCE_PORT_FIRST = 20_000;
export const UDP_SOURCE_PORT_COUNT = 40_000;

/** The i-th port of a run that starts at `first` (a port of the range), wrapping within the range. */
export function udpSourcePortAt(first: number, i: number): number {
  return UDP_SOURCE_PORT_FIRST + ((first - UDP_SOURCE_PORT_FIRST + i) % UDP_SOURCE_PORT_COUNT);
}

/** The next run's first port after a run of `count` ports that started at `first`. */
export function nextUdpSourcePort(first: number, count: number): number {
  return udpSourcePortAt(first, count);
}

/** Reads a stored counter; anything but a port of the range starts from the range's first port. */
export function parseUdpSourcePort(text: string | undefined): number {
  const n = Number(text?.trim());
  return Number.isInteger(n) && n >= UDP_SOURCE_PORT_FIRST && n < UDP_SOURCE_PORT_FIRST + UDP_SOURCE_PORT_COUNT ? n : UDP_SOURCE_PORT_FIRST;
}
