/**
 * The reward of the RandParams families (walker-params, hopper-params; gym's Walker2d
 * and Hopper): forward velocity + 1 (alive) − 1e-3‖a‖², each term written into `info`.
 */
const CTRL_COST = 1e-3;
const ALIVE = 1;

export function locomotionReward(v: number, action: Float32Array, info: Record<string, number>): number {
  let a2 = 0;
  for (let i = 0; i < action.length; i++) a2 += action[i] * action[i];
  info.forward_reward = v;
  info.alive_bonus = ALIVE;
  info.ctrl_cost = CTRL_COST * a2;
  return v + ALIVE - info.ctrl_cost;
}
