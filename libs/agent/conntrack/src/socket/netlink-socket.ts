import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { NFNLGRP_CONNTRACK_DESTROY, NFNLGRP_CONNTRACK_NEW, NFNLGRP_CONNTRACK_UPDATE } from '../netlink/netlink-constants';

/*
 * The typed face of our native netlink socket (native/src/netlink_socket.cc, libmnl): datagrams in and out, ENOBUFS
 * reported as an event rather than a crash. Everything protocol-specific happens in TypeScript above it.
 */

/** ctnetlink multicast groups as a bind() mask: group N is bit N-1 (netlink(7), nl_groups). */
export const CONNTRACK_GROUP_NEW = 1 << (NFNLGRP_CONNTRACK_NEW - 1);
export const CONNTRACK_GROUP_UPDATE = 1 << (NFNLGRP_CONNTRACK_UPDATE - 1);
export const CONNTRACK_GROUP_DESTROY = 1 << (NFNLGRP_CONNTRACK_DESTROY - 1);

export const ENOBUFS = 105;

export interface NetlinkSocketStats {
  enobufs: number;
  receivedDatagrams: number;
  receivedBytes: number;
  /** What the kernel granted (it doubles the request for bookkeeping). */
  receiveBufferBytes: number;
  /** false when SO_RCVBUFFORCE was refused (no CAP_NET_ADMIN) and the buffer is capped by net.core.rmem_max. */
  receiveBufferForced: boolean;
}

interface NativeSocket {
  send(buf: Buffer): void;
  start(onDatagrams: (packed: Buffer, lengths: number[]) => void, onError: (errno: number, message: string) => void): void;
  stop(): void;
  close(): void;
  stats(): NetlinkSocketStats;
  portId(): number;
}

interface NativeModule {
  NetlinkSocket: new (protocol: number, groups: number, receiveBufferBytes: number) => NativeSocket;
}

/**
 * The addon node-gyp built during `npm install`: beside the bundle in the compiled build and the image
 * (dist/apps/cli/native, copied by tools/build), in native/build/Release from the sources.
 */
const ADDON_PATH = [join(__dirname, 'native', 'natlens_netlink.node'), join(__dirname, '..', '..', 'native', 'build', 'Release', 'natlens_netlink.node')].find((path) => existsSync(path)) ?? join(__dirname, '..', '..', 'native', 'build', 'Release', 'natlens_netlink.node');
let addon: NativeModule | undefined;

export class NetlinkUnavailableError extends Error {
  constructor(cause: Error) {
    super(
      `the netlink addon is not built (${cause.message.split('\n')[0]}); run \`npm install\` (it builds ${ADDON_PATH} with node-gyp; needs libmnl-dev, g++, make)`,
    );
    this.name = 'NetlinkUnavailableError';
  }
}

function loadAddon(): NativeModule {
  if (!addon) {
    try {
      addon = require(ADDON_PATH) as NativeModule;
    } catch (err) {
      throw new NetlinkUnavailableError(err as Error);
    }
  }
  return addon;
}

export interface NetlinkSocketHandlers {
  /**
   * The datagrams of one wake, packed: datagram i is `lengths[i]` bytes, starting where datagram i-1 ended, rounded up
   * to 4 bytes (netlink's alignment). One Buffer per wake rather than one per datagram (see the addon).
   */
  onDatagrams(packed: Buffer, lengths: readonly number[]): void;
  /** ENOBUFS (messages were lost) or another receive error; the socket stays open. */
  onError(errno: number, message: string): void;
}

export class NetlinkSocket {
  private readonly native: NativeSocket;
  private closed = false;
  /** The callbacks handed to the addon, made once: resume() may run a hundred times a second. */
  private callbacks: [onDatagrams: (packed: Buffer, lengths: number[]) => void, onError: (errno: number, message: string) => void] | undefined;

  constructor(protocol: number, groups: number, receiveBufferBytes: number) {
    const { NetlinkSocket: Native } = loadAddon();
    this.native = new Native(protocol, groups, receiveBufferBytes);
  }

  start(handlers: NetlinkSocketHandlers): void {
    this.callbacks = [(packed, lengths) => handlers.onDatagrams(packed, lengths), (errno, message) => handlers.onError(errno, message)];
    this.resume();
  }

  /** Stops reading; datagrams wait in the socket's receive buffer (or are lost to ENOBUFS when it fills). */
  pause(): void {
    if (!this.closed) this.native.stop();
  }

  /** Reads again after pause(), with the handlers given to start(); a no-op while reading. */
  resume(): void {
    if (this.closed || !this.callbacks) return;
    this.native.start(...this.callbacks);
  }

  send(message: Buffer): void {
    this.native.send(message);
  }

  stats(): NetlinkSocketStats {
    return this.native.stats();
  }

  portId(): number {
    return this.native.portId();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.native.close();
  }
}

/** Calls `each(start, end)` for every datagram of a packed wake (NetlinkSocketHandlers.onDatagrams). */
export function forEachDatagram(lengths: readonly number[], each: (start: number, end: number) => void): void {
  let start = 0;
  for (const length of lengths) {
    each(start, start + length);
    start += (length + 3) & ~3;
  }
}
