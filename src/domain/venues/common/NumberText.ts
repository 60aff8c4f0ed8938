/** A JSON number kept as its wire text (see LosslessJson.ts). */
export class NumberText {
  readonly text: string
  constructor(text: string) {
    this.text = text
  }
}
