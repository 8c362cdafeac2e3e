/** The price table the billing tests share: sora-2 at 2 credits a second; sora-2-pro large 15 s at 100 a video. */
export const TEST_PRICING = {
  perSecond: { "sora-2": 2 },
  perTask: [{ model: "sora-2-pro", size: "large", duration: 15, credits: 100 }],
};
