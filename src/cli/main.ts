#!/usr/bin/env node
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
