import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { CONTROLLER_WATERMARK } from '@nestjs/common/constants';
import { getMetadataStorage } from 'class-validator';
import { type ValidationMetadata } from 'class-validator/types/metadata/ValidationMetadata';
import { projectRoot } from '../src/platform/config/project-root';
import { NoQueryParametersPipe } from '../src/platform/http/no-query-parameters.pipe';
import { type Metatype, pathParameters, type Route, type RouteInput, routesOf } from './support/route-table';

// class-transformer keeps @Type() targets in a storage it does not export from its index.
const { defaultMetadataStorage: transformerMetadata } = require('class-transformer/cjs/storage') as {
  defaultMetadataStorage: { findTypeMetadata(target: Metatype, property: string): { typeFunction(): unknown } | undefined };
};

/** Every controller class exported by a `*.controller.ts` under src/, found by walking the tree. */
function allControllers(): Metatype[] {
  const files: string[] = [];
  const walk = (directory: string): void => {
    for (const entry of readdirSync(directory, { withFileTypes: true })) {
      const path = join(directory, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.controller.ts')) files.push(path);
    }
  };
  walk(join(projectRoot(), 'src'));
  const exported = files.flatMap((file) => Object.values(require(file) as Record<string, unknown>));
  return exported.filter((value): value is Metatype => typeof value === 'function' && Reflect.getMetadata(CONTROLLER_WATERMARK, value) === true);
}

const storage = getMetadataStorage();

/** A rule's name: `maxLength`, `isUUID`, … or the name a custom @ValidatorConstraint gave itself. */
function ruleName(rule: ValidationMetadata): string {
  if (rule.name !== undefined && rule.name !== '') return rule.name;
  const [constraint] = rule.constraintCls === undefined ? [] : storage.getTargetValidatorConstraints(rule.constraintCls);
  return constraint?.name ?? rule.type;
}

const STRING_RULES = new Set(['isString', 'matches', 'isUUID', 'isIso8601', 'isISO8601', 'minLength', 'maxLength', 'isLength', 'isNotEmpty', 'isHexadecimal', 'isBase64']);
const NUMBER_RULES = new Set(['isInt', 'isNumber', 'min', 'max', 'isPositive', 'isNegative', 'isNumberString']);
const ARRAY_RULES = new Set(['isArray', 'arrayMinSize', 'arrayMaxSize', 'arrayNotEmpty', 'arrayUnique']);
/** Rule types that say whether a value must be there, or where to look, rather than what it may be. */
const PRESENCE: readonly string[] = ['conditionalValidation', 'isDefined', 'nestedValidation'];

/** What is wrong with one DTO's bounds; [] when every property is bounded and every rule has a code. */
function boundProblems(dto: Metatype, seen: Set<Metatype>): string[] {
  if (seen.has(dto)) return [];
  seen.add(dto);
  const rules = storage.getTargetValidationMetadatas(dto, '', true, false);
  if (rules.length === 0) return [`${dto.name} declares no validation rules`];
  const problems: string[] = [];
  for (const [property, own] of Object.entries(storage.groupByPropertyName(rules))) {
    const where = `${dto.name}.${property}`;
    const names = own.map(ruleName);
    const has = (...wanted: string[]): boolean => names.some((name) => wanted.includes(name));
    const designType = Reflect.getMetadata('design:type', dto.prototype as object, property) as unknown;
    const checks = own.filter((rule) => !PRESENCE.includes(rule.type));
    if (checks.length === 0) problems.push(`${where} has no rule on its value, only on its presence`);
    for (const rule of checks) {
      const code = (rule.context as { code?: unknown } | undefined)?.code;
      if (typeof code !== 'string' || !/^[a-z][a-z0-9_]*$/.test(code)) problems.push(`${where}: the ${ruleName(rule)} rule names no stable code in context.code`);
    }
    if (designType === String || names.some((name) => STRING_RULES.has(name))) {
      const bounded = own.some((rule) => ruleName(rule) === 'maxLength' || (ruleName(rule) === 'isLength' && rule.constraints?.[1] !== undefined));
      if (!bounded) problems.push(`${where} is a string without a MaxLength`);
    }
    if (designType === Number || names.some((name) => NUMBER_RULES.has(name))) {
      if (!has('max', 'isNegative')) problems.push(`${where} is a number without a Max`);
      if (!has('min', 'isPositive')) problems.push(`${where} is a number without a Min`);
    }
    if (designType === Array || names.some((name) => ARRAY_RULES.has(name))) {
      if (!has('arrayMaxSize')) problems.push(`${where} is an array without an ArrayMaxSize`);
    }
    if (own.some((rule) => rule.type === 'nestedValidation')) {
      const target = transformerMetadata.findTypeMetadata(dto, property)?.typeFunction();
      if (typeof target !== 'function') problems.push(`${where} validates nested values without a @Type() to build them`);
      else problems.push(...boundProblems(target as Metatype, seen));
      // ValidateNested alone lets an array stand where an object belongs (and validates its items).
      if (!has('isObject')) problems.push(`${where} validates nested values without IsObject (each) to refuse arrays and scalars`);
    }
  }
  return problems;
}

/** What is wrong with how one route reads its input. */
function inputProblems(route: Route): string[] {
  const where = `${route.method} ${route.path}`;
  const problems: string[] = [];
  const inputs: Array<[string, RouteInput]> = [
    ...route.params.map((input): [string, RouteInput] => ['@Param', input]),
    ...route.query.map((input): [string, RouteInput] => ['@Query', input]),
    ...route.body.map((input): [string, RouteInput] => ['@Body', input]),
  ];
  for (const [decorator, input] of inputs) {
    // A route that takes no query refuses any parameter given, through its own pipe.
    if (decorator === '@Query' && input.pipes.includes(NoQueryParametersPipe)) continue;
    // A single picked value (`@Param('id') id: string`) or a primitive type passes the pipe unvalidated.
    if (input.data !== null || input.metatype === null || [String, Number, Boolean, Object, Array].includes(input.metatype as never)) {
      problems.push(`${where} reads ${decorator}(${input.data ?? ''}) without a DTO class, so nothing validates it`);
    }
  }
  const parameters = pathParameters(route.path);
  if (parameters.length > 0) {
    const declared = new Set(
      route.params.flatMap((input) => (input.metatype === null ? [] : storage.getTargetValidationMetadatas(input.metatype, '', true, false).map((rule) => rule.propertyName))),
    );
    for (const parameter of parameters) if (!declared.has(parameter)) problems.push(`${where} does not validate its :${parameter} with a @Param() DTO`);
  }
  return problems;
}

/**
 * Request bounds (issue 6), checked on the metadata of every DTO a controller validates with, so
 * a field added later without a bound fails here: strings have a MaxLength, numbers a Min and a
 * Max, arrays an ArrayMaxSize, nested objects a @Type and IsObject, every rule a stable code; and
 * every path parameter, query and body goes through a DTO.
 */
describe('request bounds on every DTO a controller uses', () => {
  const routes = routesOf(allControllers());
  const dtos = new Set(routes.flatMap((route) => [...route.params, ...route.query, ...route.body]).flatMap((input) => (input.metatype === null ? [] : [input.metatype])));

  it('finds the controllers and their DTOs', () => {
    expect(routes.length).toBeGreaterThanOrEqual(20);
    expect([...dtos].map((dto) => dto.name)).toEqual(expect.arrayContaining(['RegisterUserDto', 'RecordKillsBatchDto', 'PageQueryDto', 'UserIdParams']));
  });

  it('bounds every string, number and array, and names a code for every rule', () => {
    const seen = new Set<Metatype>();
    const problems = [...dtos].filter((dto) => ![String, Number, Boolean, Object, Array].includes(dto as never)).flatMap((dto) => boundProblems(dto, seen));
    expect(problems).toEqual([]);
  });

  it('validates every path parameter, query and body through a DTO', () => {
    expect(routes.flatMap(inputProblems)).toEqual([]);
  });
});
