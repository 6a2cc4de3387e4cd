#!/usr/bin/env -S node --max-semi-space-size=4
// The option above is part of how Wharf runs (`wharf serve`, `npm start`, the bench): V8's
// default young generation on a large machine (16 MiB semi-spaces) adds some 25 MB to a busy
// server's resident memory, for no measurable gain (docs/benchmarks.md). Cluster workers
// inherit it; registry/body-memory.ts does the rest of the memory keeping.
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
