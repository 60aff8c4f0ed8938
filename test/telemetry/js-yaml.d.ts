// js-yaml ships without types and is installed as a dependency of
// @confluentinc/kafka-javascript; the tests only need `load`.
declare module "js-yaml" {
  export function load(text: string, options?: { readonly filename?: string }): unknown
}
