import type { Command, Option } from 'commander';

/**
 * `specgate completion bash|zsh|fish`: a completion script generated from the program's own
 * commands and options, so it cannot drift from what the CLI accepts.
 */
export function registerCompletion(program: Command): void {
  program
    .command('completion')
    .description('print a shell completion script: eval "$(specgate completion bash)", or see docs/spec-reference.md')
    .argument('<shell>', 'bash, zsh or fish')
    .action((shell: string) => {
      const script = completionScript(program, shell);
      process.stdout.write(script);
    });
}

interface Node {
  /** Command words from the program down to this command ('' for the program itself). */
  path: string;
  subcommands: Array<{ name: string; description: string }>;
  options: Array<{ flags: string[]; description: string }>;
}

function walk(cmd: Command, prefix: string[], out: Node[]): void {
  const visible = cmd.commands.filter((c) => !(c as unknown as { _hidden?: boolean })._hidden);
  const options = (cmd.options as readonly Option[]).filter((o) => !o.hidden).map((o) => ({ flags: [o.long, o.short].filter((f): f is string => !!f), description: o.description }));
  options.push({ flags: ['--help'], description: 'display help' });
  out.push({ path: prefix.join(' '), subcommands: visible.map((c) => ({ name: c.name(), description: c.description() })), options });
  for (const c of visible) walk(c, [...prefix, c.name()], out);
}

export function completionScript(program: Command, shell: string): string {
  const nodes: Node[] = [];
  walk(program, [], nodes);
  switch (shell) {
    case 'bash': return bash(program.name(), nodes);
    case 'zsh': return zsh(program.name(), nodes);
    case 'fish': return fish(program.name(), nodes);
    default: throw new Error(`completion ${shell}: unknown shell; expected bash, zsh or fish`);
  }
}

const fn = (name: string) => `_${name.replace(/[^a-zA-Z0-9_]/g, '_')}_complete`;

function bash(name: string, nodes: Node[]): string {
  const paths = nodes.filter((n) => n.path).map((n) => `"${n.path}"`).join('|');
  const cases = nodes.map((n) => `    "${n.path}") words="${[...n.subcommands.map((s) => s.name), ...n.options.flatMap((o) => o.flags)].join(' ')}" ;;`).join('\n');
  return `# ${name} completion for bash: eval "$(${name} completion bash)"
${fn(name)}() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" path="" next w i words=""
  # The deepest command named so far: each word that extends a known command path.
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    [[ "$w" == -* ]] && continue
    next="\${path:+$path }$w"
    case "$next" in
      ${paths || '""'}) path="$next" ;;
    esac
  done
  case "$path" in
${cases}
  esac
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -o default -F ${fn(name)} ${name}
`;
}

function zsh(name: string, nodes: Node[]): string {
  // zsh runs the bash function through its bash-completion layer, which every zsh ships.
  return `#compdef ${name}
# ${name} completion for zsh: eval "$(${name} completion zsh)"
autoload -U +X bashcompinit && bashcompinit
${bash(name, nodes).split('\n').slice(1).join('\n')}`;
}

function fish(name: string, nodes: Node[]): string {
  const quote = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  const lines = [`# ${name} completion for fish: ${name} completion fish > ~/.config/fish/completions/${name}.fish`];
  for (const n of nodes) {
    const words = n.path ? n.path.split(' ') : [];
    const below = n.subcommands.map((s) => s.name).join(' ');
    // At this command: every word of its path seen, and none of its subcommands yet.
    const cond = [
      ...(words.length ? words.map((w) => `__fish_seen_subcommand_from ${w}`) : ['__fish_use_subcommand']),
      ...(words.length && below ? [`not __fish_seen_subcommand_from ${below}`] : []),
    ].join('; and ');
    for (const s of n.subcommands) lines.push(`complete -c ${name} -n ${quote(cond)} -a ${s.name} -d ${quote(s.description)}`);
    for (const o of n.options) {
      const flags = o.flags.map((f) => (f.startsWith('--') ? `-l ${f.slice(2)}` : `-s ${f.slice(1)}`)).join(' ');
      lines.push(`complete -c ${name} -n ${quote(cond)} ${flags} -d ${quote(o.description)}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
