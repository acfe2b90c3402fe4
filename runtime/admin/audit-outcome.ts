/** Outcomes are plain words; the pattern keeps them so (the store matches them inside the record). */
export const OUTCOME_PATTERN = '^[a-z][a-z_-]{0,31}$';
