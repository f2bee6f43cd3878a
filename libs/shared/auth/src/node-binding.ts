import { flowSubject, natsNodeToken, nodeReportSubject } from '@natlens/shared-api';
import { mayWriteFor, type Principal } from './token-verifier';

export { natsNodeToken };

/*
 * Who may write records under which node, checked after a batch was parsed and validated (the guard that read the
 * token does not need the body). Every record of a batch belongs to the batch's node; the batch's node must be one
 * the sender may write for; a batch taken from NATS must also match the node its subject names.
 */
export type NodeBindingProblem =
  /** A record's `node` is not its batch's `node`. */
  | { readonly code: 'record-node-mismatch'; readonly message: string }
  /** The sender's token is bound to another node. */
  | { readonly code: 'node-not-allowed'; readonly message: string }
  /** NATS: the subject's node token is not the batch's node. */
  | { readonly code: 'subject-node-mismatch'; readonly message: string };

export interface NodeScopedBatch {
  readonly node: string;
  readonly records: readonly { readonly node: string }[];
}

/** The first record whose node differs from its batch's, as a problem; undefined when all agree. Pure. */
export function recordNodeMismatch(batch: NodeScopedBatch): NodeBindingProblem | undefined {
  const index = batch.records.findIndex((r) => r.node !== batch.node);
  if (index < 0) return undefined;
  const record = batch.records[index] as { node: string };
  return {
    code: 'record-node-mismatch',
    message: `record ${index} has node "${record.node}" but the batch is node "${batch.node}"'s: a batch carries the records of one node only; send each node's records in a batch of its own — nothing of it was stored`,
  };
}

/** Whether `principal` may write records of `node`, as a problem when not. Pure. */
export function nodeWriteProblem(principal: Principal, node: string): NodeBindingProblem | undefined {
  if (mayWriteFor(principal, node)) return undefined;
  const holder = principal.kind === 'node' ? `a token bound to node "${principal.node}"` : 'a read-only token';
  return {
    code: 'node-not-allowed',
    message: `${holder} may not write records of node "${node}": give each agent its own node's token (NATLENS_HUB_TOKEN, or NATLENS_NODE_TOKEN_SECRET with the right --node) — nothing of it was stored`,
  };
}

/** A batch about to be stored: its records agree with it, and `principal` may write for its node. Pure. */
export function batchNodeProblem(principal: Principal, batch: NodeScopedBatch): NodeBindingProblem | undefined {
  return recordNodeMismatch(batch) ?? nodeWriteProblem(principal, batch.node);
}


/** The node token a per-node subject (`<prefix>.<node token>`) ends with. */
function subjectNodeToken(subject: string): string {
  return subject.slice(subject.lastIndexOf('.') + 1);
}

/** A batch taken from NATS subject `subject` (`<prefix>.<node token>`): the subject, the batch and its records agree. Pure. */
export function subjectNodeProblem(subject: string, batch: NodeScopedBatch): NodeBindingProblem | undefined {
  const subjectToken = subjectNodeToken(subject);
  if (subjectToken !== natsNodeToken(batch.node)) {
    return {
      code: 'subject-node-mismatch',
      message: `the batch says node "${batch.node}" but came on subject ${subject} (node token "${subjectToken}"): an agent publishes only its own node's records, on ${flowSubject(batch.node)}`,
    };
  }
  return recordNodeMismatch(batch);
}

/**
 * A node report (an agent's addresses and health-check answers) taken from NATS subject `subject`: the subject names
 * the node the report says it is from. Pure.
 */
export function reportSubjectProblem(subject: string, node: string): NodeBindingProblem | undefined {
  const subjectToken = subjectNodeToken(subject);
  if (subjectToken === natsNodeToken(node)) return undefined;
  return {
    code: 'subject-node-mismatch',
    message: `the node report says node "${node}" but came on subject ${subject} (node token "${subjectToken}"): an agent reports only its own node, on ${nodeReportSubject(node)}`,
  };
}
