import { type CommandBus } from '@nestjs/cqrs';
import { toProblem } from '../errors/problem';
import { type CommandOutcome, type Metrics } from './metrics';

type Execute = (command: object, context?: unknown) => Promise<unknown>;

const METERED = Symbol('ledger:metered-command-bus');

/**
 * Counts every command the bus executes, by command and outcome. @nestjs/cqrs has no hook that sees
 * a command's result (its publisher is told before the handler runs), so this wraps the `execute`
 * of the application's one CommandBus instance. Controllers and workers (`app.get(CommandBus)`)
 * call that same instance, so each command is counted once, wherever it came from, with no code in
 * the handlers.
 */
export function meterCommandBus(bus: CommandBus, metrics: Metrics): void {
  const target = bus as unknown as { execute: Execute; [METERED]?: true };
  if (target[METERED] === true) return;
  const execute = target.execute.bind(bus) as Execute;
  target.execute = async (command, context) => {
    const name = commandName(command);
    try {
      const result = await execute(command, context);
      metrics.commandExecuted(name, 'ok');
      return result;
    } catch (error) {
      metrics.commandExecuted(name, outcomeOf(error));
      throw error;
    }
  };
  target[METERED] = true;
}

/** `RegisterUserCommand` → `RegisterUser`: the class names are the bounded set of label values. */
function commandName(command: object): string {
  const name = (Object.getPrototypeOf(command) as { constructor?: { name?: unknown } } | null)?.constructor?.name;
  return typeof name === 'string' && name !== '' ? name.replace(/Command$/, '') : 'unknown';
}

/** The same mapping the HTTP layer answers with, so `rejected` is exactly a 4xx problem. */
function outcomeOf(error: unknown): CommandOutcome {
  return toProblem(error).status < 500 ? 'rejected' : 'error';
}
