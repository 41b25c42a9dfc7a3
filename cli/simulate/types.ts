/** How one provider did on one row: its score in [0,1] and what the call cost (USD). */
export interface Outcome {
  score: number;
  cost: number;
}
