// Package reply turns an agent's streamed text into platform messages: one
// message that grows by coalesced edits, continued in follow-up messages when
// it outgrows the platform's limit, and reconciled at the end so that the
// visible messages are exactly Split(final, limit).
//
// Conventions the adapters rely on:
//   - Split returns nil for empty text, and Finish treats a final text that
//     is only whitespace like the empty one; a caller that must show
//     something (for example an empty agent result) posts its own
//     placeholder when strings.TrimSpace(final) == "".
//   - When a stream posted more messages than the final text needs, Finish
//     edits each surplus message to SurplusMarker (messages are not deleted:
//     deleting needs permissions the bot may lack and races with readers).
//   - A limit of zero or less means "no limit": one message holds everything.
//   - While streaming, parts that are only whitespace are not posted (both
//     platforms reject empty messages); Finish posts exactly what Split gives.
package reply

// SurplusMarker is the text Finish leaves in a message the final reply no
// longer needs (the stream had posted more parts than the final text has).
const SurplusMarker = "(see above)"
