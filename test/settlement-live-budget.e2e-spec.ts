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

  it('counts a payout sent but not yet confirmed as spent, and a donation pocketed but not yet confirmed as not there yet', async () => {
    // 60 BAN and a floor of 50: 10 BAN to spend, 8 BAN a payout. account_balance counts confirmed
    // blocks only, as the node's does by default; the double confirms nothing until confirmAll.
    await withLiveApp({ openWithRaw: 60n * BAN }, async ({ app, node, operator }) => {
      node.holdConfirmations();
      await earner(app, 80);
      await synced(app);
      expect((await call(app, 'POST', '/v1/admin/settlements', {})).body.payoutsRequested).toBe(1);
      await synced(app);
      expect(await app.workers.payoutExecutor.runOnce()).toEqual({ sent: 1, failed: 0 });
      await synced(app);
      expect(node.balanceOf(operator.address)).toBe(52n * BAN);

      // The send is not confirmed, so the confirmed balance is still 60 BAN; but only 2 are left.
      await earner(app, 80);
      await synced(app);
      const sendUnconfirmed = await call(app, 'POST', '/v1/admin/settlements', {});
      expect(sendUnconfirmed.status).toBe(200);
      expect(sendUnconfirmed.body).toMatchObject({ payoutsRequested: 0, deferredByBudget: 1 });

      // A donation of 20 BAN (its send confirmed), pocketed by the run: until the receive is
      // confirmed, the 20 BAN are not spendable.
      node.confirmAll();
      await node.fund(operator.address, 20n * BAN);
      node.holdConfirmations();
      const receiveUnconfirmed = await call(app, 'POST', '/v1/admin/settlements', {});
      expect(node.balanceOf(operator.address)).toBe(72n * BAN);
      expect(receiveUnconfirmed.body).toMatchObject({ payoutsRequested: 0, deferredByBudget: 1 });

      node.confirmAll();
      expect((await call(app, 'POST', '/v1/admin/settlements', {})).body).toMatchObject({ payoutsRequested: 1, deferredByBudget: 0 });
    });
  });
});
