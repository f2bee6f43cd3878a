import type { Tuple } from '@natlens/shared-model';

/*
 * DESIGN.md "The core record": conntrack's REPLY tuple is the reply as the backend sends it, so inverting it gives
 * the connection as the backend received it. Comparing that with the ORIGINAL tuple says which NAT happened.
 */
export interface Translation {
  original: Tuple;
  translated: Tuple;
  /** The destination address or port was rewritten (kube-proxy's DNAT to an endpoint). */
  dnat: boolean;
  /** The source address was rewritten: the backend no longer sees the client's address. */
  snat: boolean;
  /** Only the source port was rewritten (no address lost); MASQUERADE --random-fully or a port clash. */
  portRemap: boolean;
}

export function translatedTuple(reply: Tuple): Tuple {
  return { src: reply.dst, sport: reply.dport, dst: reply.src, dport: reply.sport, proto: reply.proto };
}

export function translate(original: Tuple, reply: Tuple): Translation {
  const translated = translatedTuple(reply);
  const snat = translated.src !== original.src;
  return {
    original,
    translated,
    dnat: translated.dst !== original.dst || translated.dport !== original.dport,
    snat,
    portRemap: !snat && translated.sport !== original.sport,
  };
}

/** A pod that reached itself through its Service: what it sent to comes back to its own address. */
export function isHairpin(t: Pick<Translation, 'original' | 'translated'>): boolean {
  return t.translated.dst === t.original.src;
}
