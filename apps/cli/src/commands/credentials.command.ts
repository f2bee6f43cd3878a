import { readFileSync } from 'node:fs';
import { agentNatsUser, deriveNodeToken, isNodeName, MIN_NODE_TOKEN_SECRET_LENGTH, type NatsUserCredential, parseNodeTokens, renderNatsAuthorization } from '@natlens/shared-auth';
import { Command } from 'commander';

/*
 * Credentials for a deployment: a node's token derived from the shared secret, and the nats-server `authorization`
 * block giving each agent node its own NATS user (password = its node token) and the hub a consume-only user.
 * Secrets come from files or the environment, never from a flag's value (ps shows flags).
 */
function readSecret(file: string | undefined, env: string | undefined, what: string): string {
  const secret = file ? readFileSync(file, 'utf8').trim() : env;
  if (!secret) throw new Error(`no ${what}: pass its file or set the environment variable`);
  return secret;
}

function nodeSecret(file: string | undefined): string {
  const secret = readSecret(file, process.env['NATLENS_NODE_TOKEN_SECRET'], 'node token secret (--secret-file or NATLENS_NODE_TOKEN_SECRET)');
  if (secret.length < MIN_NODE_TOKEN_SECRET_LENGTH) throw new Error(`the node token secret must be at least ${MIN_NODE_TOKEN_SECRET_LENGTH} characters`);
  return secret;
}

export function nodeTokenCommand(): Command {
  return new Command('node-token')
    .description("print a node's ingest token derived from the shared secret (what an agent with NATLENS_NODE_TOKEN_SECRET computes for itself)")
    .requiredOption('--node <name>', 'the node name, as the cluster knows it')
    .option('--secret-file <file>', 'the shared node token secret (or NATLENS_NODE_TOKEN_SECRET)')
    .action((opts: { node: string; secretFile?: string }) => {
      process.stdout.write(`${deriveNodeToken(nodeSecret(opts.secretFile), opts.node)}\n`);
    });
}

export function natsConfigCommand(): Command {
  return new Command('nats-config')
    .description("print a nats-server `authorization` block: each agent node a user that may publish only its node's subjects, the hub a consume-only user")
    .option('--nodes <list>', 'agent node names, comma-separated (their passwords: tokens derived from --secret-file / NATLENS_NODE_TOKEN_SECRET)')
    .option('--secret-file <file>', 'the shared node token secret (or NATLENS_NODE_TOKEN_SECRET)')
    .option('--node-token-file <file>', 'explicit node tokens instead, node=token per line (the hub\'s --node-token-file)')
    .option('--hub-user <name>', 'the hub\'s NATS user', 'natlens-hub')
    .option('--hub-password-file <file>', 'the hub\'s NATS password (or NATLENS_BUS_PASSWORD)')
    .action((opts: { nodes?: string; secretFile?: string; nodeTokenFile?: string; hubUser: string; hubPasswordFile?: string }) => {
      const agents: { node: string; credential: NatsUserCredential }[] = [];
      if (opts.nodeTokenFile) {
        const parsed = parseNodeTokens(readFileSync(opts.nodeTokenFile, 'utf8'), opts.nodeTokenFile);
        if (parsed.problems.length > 0) throw new Error(parsed.problems.join('; '));
        for (const { node, token } of parsed.tokens) agents.push({ node, credential: { user: agentNatsUser(node), password: token } });
      }
      const nodes = (opts.nodes ?? '').split(',').map((n) => n.trim()).filter((n) => n !== '');
      if (nodes.length > 0) {
        const secret = nodeSecret(opts.secretFile);
        for (const node of nodes) {
          if (!isNodeName(node)) throw new Error(`"${node}" is not a Kubernetes node name`);
          agents.push({ node, credential: { user: agentNatsUser(node), password: deriveNodeToken(secret, node) } });
        }
      }
      if (agents.length === 0) throw new Error('no agent nodes: pass --nodes (with the node token secret) or --node-token-file');
      const password = readSecret(opts.hubPasswordFile, process.env['NATLENS_BUS_PASSWORD'], "hub's NATS password (--hub-password-file or NATLENS_BUS_PASSWORD)");
      process.stdout.write(renderNatsAuthorization({ hub: { user: opts.hubUser, password }, agents }));
    });
}
