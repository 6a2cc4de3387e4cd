#!/usr/bin/env -S node --max-semi-space-size=2 --heap-growing-percent=40
// The options above are part of how Wharf runs (`wharf serve`, `npm start`, the bench): a
// young generation capped at 2 MiB per semi-space and old-generation limits 40 % above the
// live heap keep a busy server's peak RSS near 140 MB instead of 200 (docs/benchmarks.md),
// for about 5 % more CPU per small request. Cluster workers inherit them.
import { Command } from 'commander';
import { serveCommand } from './serve.js';
import { identityCommands } from './admin.js';
import { addEcrCommands } from './ecr-commands.js';
import { configureTree } from './cli-util.js';
import { lifecycleCommand } from './lifecycle-commands.js';

const program = new Command()
  .name('wharf')
  .description('Wharf: a self-hosted container image registry (OCI Distribution API, ECR-compatible control plane)')
  .version('0.1.0')
  .showHelpAfterError();

program.addCommand(serveCommand());
for (const command of identityCommands()) program.addCommand(command);
addEcrCommands(program);
program.addCommand(configureTree(lifecycleCommand()));

await program.parseAsync(process.argv);
