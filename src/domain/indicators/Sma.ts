import type { Reading } from "./Indicator.ts"
import { assertPeriod, reading } from "./Indicator.ts"
import { makeRollingWindow } from "./RollingWindow.ts"

/** Simple moving average: mean of the last `period` values; ready after `period` values. */
export const makeSma = (period: number) => {
  assertPeriod("SMA", period)
  const window = makeRollingWindow(period)
  return {
    update: (x: number): Reading => {
      window.push(x)
      return reading(window.mean(), window.count(), period)
    }
  }
}
