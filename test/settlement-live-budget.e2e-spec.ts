import { BANANO_GATEWAY, type BananoGateway } from '../src/payouts/banano/banano-gateway';
import { call, earner, withLiveApp } from './support/scenario';
import { synced } from './support/test-app';

const BAN = 10n ** 29n;

/** A live settlement's budget (SPEC §4.3) against the node double, with the executor running beside it. */
describe('the live settlement budget', () => {
  it('never spends a payout sent while the run reads its budget: what is spoken for is read before the balance', async () => {
    // 60 BAN and a floor of 50: 10 BAN to spend. 0.1 BAN a kill (0.05 × sustainability 2.0).
    await withLiveApp({ openWithRaw: 60n * BAN }, async ({ app, node, operator }) => {
      await earner(app, 80);
      await synced(app);
      expect((await call(app, 'POST', '/v1/admin/settlements', {})).body.payoutsRequested).toBe(1);
      await synced(app);
      // Another 8 BAN: with the first payout spoken for, 2 BAN are left, so it must wait.
      await earner(app, 80);
      await synced(app);

      // The executor's tick sends the first payout, and its PayoutSent is projected, while the run
      // is between its two reads (the node's balance, and the payouts read model).
      const gateway = app.app.get<BananoGateway>(BANANO_GATEWAY);
      const real = gateway.rpc.accountBalance.bind(gateway.rpc);
      jest.spyOn(gateway.rpc, 'accountBalance').mockImplementationOnce(async (account: string) => {
        const answer = await real(account);
        expect(await app.workers.payoutExecutor.runOnce()).toEqual({ sent: 1, failed: 0 });
        await synced(app);
        return answer;
      });
      const second = await call(app, 'POST', '/v1/admin/settlements', {});

      expect(node.balanceOf(operator.address)).toBe(52n * BAN);
      expect(second.status).toBe(200);
      expect(second.body.payoutsRequested).toBe(0);
    });
  });
});
