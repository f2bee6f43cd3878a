export { allowsScope, bearerToken, mayRead, mayWriteFor, type Principal, type TokenScope, type TokenSet, TokenVerifier } from './token-verifier';
export { DERIVED_TOKEN_PREFIX, deriveNodeToken, derivedTokenClaim, isNodeName, MIN_NODE_TOKEN_SECRET_LENGTH, parseNodeTokens } from './node-tokens';
export { batchNodeProblem, natsNodeToken, type NodeBindingProblem, nodeWriteProblem, type NodeScopedBatch, recordNodeMismatch, reportSubjectProblem, subjectNodeProblem } from './node-binding';
export { readTlsFiles, type TlsFilePaths, type TlsMaterial } from './tls-files';
export {
  agentInboxPrefix,
  agentNatsUser,
  agentPermissions,
  DEFAULT_HUB_DURABLE,
  DEFAULT_STREAMS,
  HUB_INBOX_PREFIX,
  hubPermissions,
  NATS_SUBJECT_ROOT,
  type NatsAuthorizationSpec,
  type NatsPermissions,
  type NatsUserCredential,
  renderNatsAuthorization,
} from './nats-permissions';
export { type NatsClientAuth, natsClientOptions } from './nats-client-options';
export { busAuthFromEnv } from './bus-auth-settings';
