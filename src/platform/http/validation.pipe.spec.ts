import { RequestValidationError } from '../errors/problem';
import { RecordKillsBatchDto } from '../../rewards/record-kills/record-kills.dto';
import { GetLeaderboardQueryDto } from '../../dashboard-queries/leaderboard/get-leaderboard.dto';
import { PageQueryDto } from './paging';
import { RequestValidationPipe } from './validation.pipe';

describe('RequestValidationPipe', () => {
  const pipe = new RequestValidationPipe();
  const userId = '6f1c0000-0000-4000-8000-000000000000';
  const codes = async (value: unknown, type: 'body' | 'query', metatype: unknown): Promise<string[]> => {
    try {
      await pipe.transform(value, { type, metatype: metatype as never, data: undefined });
      return [];
    } catch (error) {
      if (!(error instanceof RequestValidationError)) throw error;
      return error.errors.map((fieldError) => `${fieldError.field}:${fieldError.code}`);
    }
  };

  it('accepts a valid batch and query', async () => {
    expect(await codes({ observations: [{ userId, lifetimeKills: 1 }] }, 'body', RecordKillsBatchDto)).toEqual([]);
    expect(await codes({ limit: '10', minPosition: '9223372036854775807' }, 'query', PageQueryDto)).toEqual([]);
  });

  it.each([
    ['constructor', { observations: [{ userId, lifetimeKills: 1 }], constructor: 1 }, 'constructor:unknown_property'],
    ['a nested toString', { observations: [{ userId, lifetimeKills: 1, toString: 'x' }] }, 'observations.0.toString:unknown_property'],
    ['an own __proto__', JSON.parse('{"observations":[],"__proto__":{"x":1}}') as unknown, '__proto__:unknown_property'],
  ])('refuses %s, which class-transformer would drop without a word', async (_case, value, code) => {
    expect(await codes(value, 'body', RecordKillsBatchDto)).toEqual([code]);
  });

  it('refuses query keys every object inherits', async () => {
    const query = Object.assign(Object.create(null) as object, { hasOwnProperty: '1' });
    expect(await codes(query, 'query', PageQueryDto)).toEqual(['hasOwnProperty:unknown_property']);
  });

  it.each([
    ['an array in place of an observation', { observations: [[{ userId, lifetimeKills: 1 }]] }],
    ['a scalar in place of an observation', { observations: [1] }],
  ])('refuses %s with invalid_observations', async (_case, value) => {
    expect(await codes(value, 'body', RecordKillsBatchDto)).toEqual(['observations:invalid_observations']);
  });

  it('leaves a body property set to null out, at any depth, so an optional field is not given', async () => {
    const batch = (await pipe.transform({ observations: [{ userId, lifetimeKills: 1, observedAt: null }] }, { type: 'body', metatype: RecordKillsBatchDto, data: undefined })) as RecordKillsBatchDto;

    expect(batch).toBeInstanceOf(RecordKillsBatchDto);
    expect(batch.observations).toHaveLength(1);
    expect(batch.observations[0].observedAt).toBeUndefined();
  });

  it.each([
    ['a required field set to null', { observations: null }, 'observations:observations_required'],
    ['a required nested field set to null', { observations: [{ userId: null, lifetimeKills: 1 }] }, 'observations.0.userId:user_id_required'],
    ['a null array item, kept in its place', { observations: [{ userId, lifetimeKills: 1 }, null] }, 'observations:invalid_observations'],
  ])('refuses %s', async (_case, value, code) => {
    expect(await codes(value, 'body', RecordKillsBatchDto)).toEqual([code]);
  });

  it('refuses a minPosition past the bigint range', async () => {
    expect(await codes({ minPosition: '9223372036854775808' }, 'query', PageQueryDto)).toEqual(['minPosition:invalid_min_position']);
  });
});

describe('?limit= (LimitRules), on a paged query and on a dashboard route', () => {
  const pipe = new RequestValidationPipe();
  const outcome = async (limit: unknown, metatype: unknown): Promise<unknown> => {
    try {
      return ((await pipe.transform({ limit }, { type: 'query', metatype: metatype as never, data: undefined })) as { limit?: unknown }).limit;
    } catch (error) {
      if (!(error instanceof RequestValidationError)) throw error;
      return error.errors.map((fieldError) => `${fieldError.code}: ${fieldError.message}`);
    }
  };
  const notDigits = ['invalid_limit: limit must be a whole number written in decimal digits'];

  it.each([PageQueryDto, GetLeaderboardQueryDto])('takes decimal digits only, and names the rule each other value breaks (%p)', async (dto) => {
    expect(await outcome('5', dto)).toBe(5);
    expect(await outcome('100', dto)).toBe(100);
    for (const limit of ['0x10', '1e1', ' 5', '5 ', '1.5', '-1', 'abc', 'Infinity', '', ['5', '6']]) {
      expect([limit, await outcome(limit, dto)]).toEqual([limit, notDigits]);
    }
    expect(await outcome('0', dto)).toEqual(['invalid_limit: limit must be at least 1']);
    expect(await outcome('101', dto)).toEqual(['invalid_limit: limit must be at most 100']);
    expect(await outcome('99999999999999999999999', dto)).toEqual(['invalid_limit: limit must be at most 100']);
  });
});
