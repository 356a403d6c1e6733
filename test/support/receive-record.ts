import { randomBytes, randomUUID } from 'node:crypto';
import { NO_DONATIONS_ELSEWHERE } from '../../src/payouts/operator/operator-accounts';
import { emptyOperatorState, foldOperator, operatorStream } from '../../src/payouts/operator/operator.events';
import { type EventStore } from '../../src/platform/event-store/event-store.port';
import { DEFAULT_MILESTONES } from '../../src/rewards/economics/rate';
import { appendReceiveRecord, receiveRecordEvents } from '../../src/treasury/receive-record';

/**
 * Records a send to the operator account `address` as the donation ingester would, without a node:
 * DonationReceived or FundingReceived (with any MilestoneReached), on the receive the stream signed
 * last. Answers the send's hash.
 */
export async function recordReceive(
  store: EventStore,
  input: {
    readonly address: string;
    readonly kind: 'DonationReceived' | 'FundingReceived';
    readonly sender: string;
    readonly amountRaw: bigint;
    readonly returnedPayoutId?: string;
    readonly actorName: string;
  },
): Promise<string> {
  const { address, amountRaw } = input;
  const operator = foldOperator(await store.readStream(operatorStream(address)), emptyOperatorState);
  const sendHash = randomBytes(32).toString('hex').toUpperCase();
  const receiveHash = randomBytes(32).toString('hex').toUpperCase();
  const previous = operator.lastSignedBlock?.kind === 'receive' ? operator.lastSignedBlock.receiveHash : '0'.repeat(64);
  const events = receiveRecordEvents({
    address,
    operator,
    elsewhere: NO_DONATIONS_ELSEWHERE,
    kind: input.kind,
    data: {
      sendHash,
      sender: input.sender,
      amountRaw: amountRaw.toString(),
      receiveHash,
      previous,
      // Never published: only its fields' shape matters to the readers of the event.
      block: {
        type: 'state',
        account: address,
        previous,
        representative: address,
        balance: amountRaw.toString(),
        link: sendHash,
        signature: '0'.repeat(128),
        work: '0'.repeat(16),
      },
      receivedAt: new Date().toISOString(),
      ...(input.returnedPayoutId === undefined ? {} : { returnedPayoutId: input.returnedPayoutId }),
    },
    tiers: DEFAULT_MILESTONES,
    actor: { kind: 'system', name: input.actorName },
    correlationId: randomUUID(),
  });
  if (!(await appendReceiveRecord(store, address, operator, events))) throw new Error(`The receive of ${sendHash} lost a race for ${operatorStream(address)}`);
  return sendHash;
}
