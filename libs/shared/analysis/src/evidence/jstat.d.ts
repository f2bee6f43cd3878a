/*
 * The part of jstat (https://github.com/jstat/jstat, ISC) natlens uses; the package ships no type declarations.
 * Referenced with a triple-slash directive from the module that imports it, so every compilation that reaches that
 * module (the workspace's and the dashboard's) sees it.
 */
declare module 'jstat' {
  export const jStat: {
    chisquare: {
      /** P(X ≤ x) for a chi-square distribution with `dof` degrees of freedom. */
      cdf(x: number, dof: number): number;
    };
  };
}
