//! Flate (zlib) decoding as both validators use it: a stream is inflated a
//! piece at a time through a fixed buffer and never held, it must be complete
//! (its Adler-32 verified), and every byte it puts out is charged to its
//! document's one inflation budget before anything sees it. A PDF's streams,
//! each layer of their filter chains, and a PNG's compressed chunks all draw
//! on that one budget, so no nesting or number of streams multiplies it.

use super::zlib::Zlib;

/// What one document may still decode, all its streams and layers together.
#[derive(Debug)]
pub(crate) struct Budget {
    remaining: u64,
    used: u64,
}

/// The budget has run out.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Exhausted;

impl Budget {
    pub(crate) fn new(total: u64) -> Self {
        Budget {
            remaining: total,
            used: 0,
        }
    }

    /// Takes `bytes` from the budget, or fails and takes nothing.
    pub(crate) fn charge(&mut self, bytes: u64) -> Result<(), Exhausted> {
        self.remaining = self.remaining.checked_sub(bytes).ok_or(Exhausted)?;
        self.used += bytes;
        Ok(())
    }

    /// Bytes decoded so far, everything together.
    pub(crate) fn used(&self) -> u64 {
        self.used
    }

    /// Bytes still allowed.
    pub(crate) fn remaining(&self) -> u64 {
        self.remaining
    }
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum FlateError {
    /// Not a complete zlib stream: bad data, a wrong checksum, cut short, or
    /// followed by bytes its format does not allow there.
    Corrupt,
    /// The document's budget ran out.
    Budget,
}

impl From<Exhausted> for FlateError {
    fn from(_: Exhausted) -> Self {
        FlateError::Budget
    }
}

/// Where the output of a decoding step goes: the next step, or the caller.
/// It gets the budget back, for the steps after it to charge.
pub(crate) type Sink<'s, E> = dyn FnMut(&[u8], &mut Budget) -> Result<(), E> + 's;

/// One zlib stream being inflated, fed in pieces; reusable for the next
/// stream once [`reset`](Flate::reset).
pub(crate) struct Flate {
    state: Zlib,
    buf: Vec<u8>,
    /// Bytes that may follow the stream's end (a PDF stream's end of line).
    may_follow: fn(u8) -> bool,
}

impl Flate {
    /// A state whose output comes in pieces of up to `buffer` bytes.
    pub(crate) fn new(buffer: usize, may_follow: fn(u8) -> bool) -> Self {
        Flate {
            state: Zlib::new(),
            buf: vec![0u8; buffer],
            may_follow,
        }
    }

    /// Makes it ready for a new stream.
    pub(crate) fn reset(&mut self) {
        self.state.reset();
    }

    /// Inflates `input`, the stream's next bytes, handing each piece of
    /// output to `out` once the budget has been charged for it. zlib is
    /// called until it makes no progress: its output can outlast its input
    /// (a long match still being copied), so used-up input alone does not
    /// mean the piece is done.
    pub(crate) fn push<E: From<FlateError>>(
        &mut self,
        mut input: &[u8],
        budget: &mut Budget,
        out: &mut Sink<'_, E>,
    ) -> Result<(), E> {
        loop {
            if self.state.ended() {
                return match input.iter().all(|&b| (self.may_follow)(b)) {
                    true => Ok(()),
                    false => Err(FlateError::Corrupt.into()),
                };
            }
            let step = self
                .state
                .inflate(input, &mut self.buf)
                .map_err(|_| FlateError::Corrupt)?;
            input = &input[step.consumed..];
            budget.charge(step.produced as u64).map_err(FlateError::from)?;
            out(&self.buf[..step.produced], budget)?;
            if step.consumed == 0 && step.produced == 0 && !self.state.ended() {
                // With a whole free buffer, zlib stops only when its input is
                // used up: the rest of the stream is in the next piece.
                return match input.is_empty() {
                    true => Ok(()),
                    false => Err(FlateError::Corrupt.into()),
                };
            }
        }
    }

    /// After the last piece: the stream has ended, its checksum verified.
    pub(crate) fn finish(&self) -> Result<(), FlateError> {
        match self.state.ended() {
            true => Ok(()),
            false => Err(FlateError::Corrupt),
        }
    }
}
