import { type Difference, type ReconciliationReport } from './reconciliation';

/**
 * The report as an operator reads it in a terminal: the two balances, then either the line "In
 * balance" or each difference with the events it concerns. Hashes are printed whole, to be copied.
 */
export function formatReconciliationReport(report: ReconciliationReport): string {
  const lines: string[] = [];
  if (report.mode === 'live') {
    lines.push(`Reconciliation of the operator account ${report.operatorAddress ?? '?'} with the chain, at ${report.checkedAt}`);
    lines.push(`  ledger: ${report.ledger.balanceBan} BAN, frontier ${report.ledger.frontier ?? 'none'}`);
    lines.push(`  chain:  ${report.chain.balanceBan} BAN (+ ${report.chain.receivableBan} BAN receivable), frontier ${report.chain.frontier ?? 'none (not opened)'}`);
  } else {
    lines.push(`Reconciliation of a dry run (no chain): the events against the simulated balance settlement uses, at ${report.checkedAt}`);
    lines.push(`  ledger (events):          ${report.ledger.balanceBan} BAN`);
    lines.push(`  simulated (read model):   ${report.chain.balanceBan} BAN`);
  }
  if (report.inBalance) {
    lines.push('In balance: no differences.');
    return `${lines.join('\n')}\n`;
  }
  const count = report.differences.length;
  lines.push(`NOT in balance: ${count} difference${count === 1 ? '' : 's'}.`);
  report.differences.forEach((difference, index) => lines.push(...formatDifference(difference, index + 1)));
  return `${lines.join('\n')}\n`;
}

function formatDifference(difference: Difference, ordinal: number): string[] {
  const lines = [`${ordinal}. ${difference.kind}: ${difference.message}`];
  const facts = [
    difference.blockHash === undefined ? null : `block ${difference.blockHash}`,
    difference.amountBan === undefined ? null : `amount ${difference.amountBan} BAN (${difference.amountRaw ?? '?'} raw)`,
    difference.onChain === undefined ? null : difference.onChain ? 'on the chain' : 'not on the chain',
  ].filter((fact): fact is string => fact !== null);
  if (facts.length > 0) lines.push(`   ${facts.join(', ')}`);
  if (difference.events.length === 0) lines.push('   events: none recorded');
  for (const event of difference.events) lines.push(`   event ${event.streamName} @${event.revision} ${event.type} ${event.eventId}`);
  return lines;
}
