// `tinynf lab up|down|status`: two network namespaces (lan, wan), each with a TAP the simulated NIC can use as
// its wire, so real Linux stacks can talk through an NF. See docs/lab.md.
import type { Argv, CommandModule } from 'yargs';
import { Lab, LabOptions, labDown, labStatus, labUp } from '../env/lab';

interface LabArgs {
  topology: 'routed' | 'flat';
}

function options(args: LabArgs): LabOptions {
  return { topology: args.topology };
}

function describeLab(lab: Lab): string {
  const lines = [`lab (${lab.topology}) is up:`];
  for (const [role, side] of [
    ['lan', lab.lan],
    ['wan', lab.wan],
  ] as const) {
    lines.push(
      `  ${role}: namespace ${side.netns}, TAP ${side.tap} ${side.mac}, address ${side.address}` +
        (side.gateway !== null ? `, default route via ${side.gateway}` : ''),
    );
  }
  lines.push(`next: tinynf run <nf> --sim --tap ${lab.lan.tap},${lab.wan.tap}   (e.g. nat, bridge with --topology flat)`);
  lines.push(`then: ip netns exec ${lab.lan.netns} <command>`);
  return lines.join('\n') + '\n';
}

export const command: CommandModule<object, LabArgs> = {
  command: 'lab <action>',
  describe: 'create or remove the two-namespace lab (lan, wan) whose TAPs simulated ports can use',
  builder: (y: Argv) =>
    y
      .positional('action', { choices: ['up', 'down', 'status'] as const, describe: 'up, down or status', demandOption: true })
      .option('topology', {
        choices: ['routed', 'flat'] as const,
        default: 'routed' as const,
        describe: 'routed: two subnets with gateways (nat, firewall, policer); flat: one subnet (bridge)',
      }) as unknown as Argv<LabArgs>,
  handler: (args) => {
    const action = (args as unknown as { action: string }).action;
    if (action === 'up') {
      process.stdout.write(describeLab(labUp(options(args))));
    } else if (action === 'down') {
      const r = labDown(options(args));
      process.stdout.write(
        `lab down: removed namespaces [${r.removedNamespaces.join(', ')}], interfaces [${r.removedInterfaces.join(', ')}]` +
          (r.keptNamespaces.length > 0 ? `; kept [${r.keptNamespaces.join(', ')}] (they hold interfaces tinynf did not create)` : '') +
          '\n',
      );
    } else {
      for (const s of labStatus(options(args))) {
        process.stdout.write(`${s.netns}: ${s.exists ? 'present' : 'absent'}, ${s.tap}: ${s.tapExists ? 'present' : 'absent'}\n`);
      }
    }
  },
};
