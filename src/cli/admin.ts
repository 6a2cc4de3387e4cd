// The identity-management commands of `wharf`, for main.ts to register.
import type { Command } from 'commander';
import { configureTree } from './cli-util.js';
import { groupCommand, keyCommand, userCommand } from './identity-commands.js';
import { gcCommand } from './gc-command.js';
import { loginCommand } from './login.js';
import { auditCommand, policyCommand, registryPolicyCommand, repoCommand } from './policy-commands.js';

/** user, group, key, policy, repo, registry-policy, audit, login and gc, each tree with our exit codes. */
export function identityCommands(): Command[] {
  return [userCommand(), groupCommand(), keyCommand(), policyCommand(), repoCommand(), registryPolicyCommand(), auditCommand(), loginCommand(), gcCommand()].map(configureTree);
}
