/** The time, behind one function so tests can set it (STYLE rule 8). */
export type Clock = () => Date;

export const systemClock: Clock = () => new Date();

declare module 'fastify' {
  interface FastifyInstance {
    /** The app's clock: services take it instead of calling `new Date()`. */
    now: Clock;
  }
}
