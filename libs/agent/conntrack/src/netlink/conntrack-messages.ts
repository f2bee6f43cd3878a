import { ParseError } from '@natlens/agent-wire';
import type { ConntrackEntry } from './conntrack-entry';
import { NLMSG_DONE, NLMSG_ERROR, NLMSG_NOOP, NLMSG_OVERRUN } from './netlink-constants';
import { type NetlinkHeader, type NetlinkMessage, parseNetlinkDone, parseNetlinkDatagram, parseNetlinkError } from './netlink-message';
import { parseConntrackMessage } from './parse-conntrack';

/*
 * A whole datagram from a ctnetlink socket: conntrack entries mixed with the control messages that end a dump
 * (NLMSG_DONE), answer a request (NLMSG_ERROR, errno 0 being an ACK) or report lost events (NLMSG_OVERRUN).
 */

interface Located {
  /** Where the message starts in the datagram. */
  offset: number;
  header: NetlinkHeader;
}

export type ConntrackMessage =
  | (Located & { kind: 'entry'; entry: ConntrackEntry })
  | (Located & { kind: 'ack'; request: NetlinkHeader })
  | (Located & { kind: 'error'; errno: number; request: NetlinkHeader })
  | (Located & { kind: 'done'; errno: number })
  | (Located & { kind: 'overrun' });

export interface ConntrackBatch {
  messages: ConntrackMessage[];
  /** In `collect` mode, one ParseError per message that could not be read; always empty in `strict` mode. */
  errors: ParseError[];
}

export interface ParseConntrackMessagesOptions {
  /**
   * `strict` (the default) throws the first ParseError. `collect` keeps going so that one bad message does not lose
   * the rest of a dump: a message whose body is malformed is reported and skipped; a malformed nlmsghdr ends the
   * datagram, since the next message's position is known only from a trustworthy nlmsg_len.
   */
  mode?: 'strict' | 'collect';
}

export function parseConntrackMessages(buf: Buffer, options: ParseConntrackMessagesOptions = {}): ConntrackBatch {
  return parseNetlinkDatagram(buf, classifyConntrackMessage, options.mode === 'collect');
}

/** One framed message by its nlmsg_type: a control message, an entry, or undefined for NLMSG_NOOP. */
export function classifyConntrackMessage(buf: Buffer, message: NetlinkMessage): ConntrackMessage | undefined {
  const located = { offset: message.offset, header: message.header };
  switch (message.header.type) {
    case NLMSG_NOOP:
      return undefined; // netlink(7): "message is to be ignored"
    case NLMSG_ERROR: {
      const { errno, request } = parseNetlinkError(message);
      return errno === 0 ? { ...located, kind: 'ack', request } : { ...located, kind: 'error', errno, request };
    }
    case NLMSG_DONE:
      return { ...located, kind: 'done', errno: parseNetlinkDone(message).errno };
    case NLMSG_OVERRUN:
      return { ...located, kind: 'overrun' };
    default:
      return { ...located, kind: 'entry', entry: parseConntrackMessage(buf, message) };
  }
}
