import { Command } from 'commander';
import { labCommand } from './commands/lab.command';
import { demoCommand } from './commands/demo.command';
import { agentCommand } from './commands/agent.command';
import { hubCommand } from './commands/hub.command';
import { explainCommand } from './commands/explain.command';
import { importCommand } from './commands/import.command';
import { natsConfigCommand, nodeTokenCommand } from './commands/credentials.command';

const program = new Command('natlens')
  .description('what NAT did to the connections of your Kubernetes Services')
  .showHelpAfterError()
  .addCommand(labCommand())
  .addCommand(demoCommand())
  .addCommand(agentCommand())
  .addCommand(hubCommand())
  .addCommand(explainCommand())
  .addCommand(importCommand())
  .addCommand(nodeTokenCommand())
  .addCommand(natsConfigCommand());

program.parseAsync(process.argv).catch((err: Error) => {
  process.stderr.write(`natlens: ${err.message}\n`);
  process.exit(1);
});
