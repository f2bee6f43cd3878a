import { Command } from 'commander';
import { labCommand } from './commands/lab.command';
import { demoCommand } from './commands/demo.command';

const program = new Command('natlens')
  .description('what NAT did to the connections of your Kubernetes Services')
  .showHelpAfterError()
  .addCommand(labCommand())
  .addCommand(demoCommand());

program.parseAsync(process.argv).catch((err: Error) => {
  process.stderr.write(`natlens: ${err.message}\n`);
  process.exit(1);
});
