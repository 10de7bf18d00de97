//! `SpaceFuture`: what every `Space` operation returns — a value that is already there, or a boxed future.
//!
//! `TSpace` answers `out`/`inp`/`size` (and `in_` when a value is waiting) at once, so through
//! `dyn Space` those cost no allocation and no extra poll: the caller's `.await` finds `Ready`. Only an
//! operation that really waits (an empty `TSpace` key, any `pg:` call) boxes its future.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::SpaceError;

/// Result of a space operation.
pub type SpaceResult<T> = Result<T, SpaceError>;

/// A space operation: ready now, or pending on a boxed future borrowing the space (and the key).
#[must_use = "a space operation does nothing unless awaited (or its ready result taken)"]
pub enum SpaceFuture<'a, T> {
    /// Done already; `None` once the result was taken.
    Ready(Option<SpaceResult<T>>),
    /// Still to run.
    Pending(Pin<Box<dyn Future<Output = SpaceResult<T>> + Send + 'a>>),
}

// The ready value is only ever moved out, never pinned in place, so the enum may move freely.
impl<T> Unpin for SpaceFuture<'_, T> {}

impl<'a, T> SpaceFuture<'a, T> {
    /// A finished operation.
    #[inline]
    pub fn ready(r: SpaceResult<T>) -> Self {
        SpaceFuture::Ready(Some(r))
    }

    /// A finished, successful operation.
    #[inline]
    pub fn ok(v: T) -> Self {
        SpaceFuture::Ready(Some(Ok(v)))
    }

    /// An operation still to run.
    pub fn boxed(f: impl Future<Output = SpaceResult<T>> + Send + 'a) -> Self {
        SpaceFuture::Pending(Box::pin(f))
    }

    /// The result if the operation finished without waiting, else the operation itself.
    pub fn now(self) -> Result<SpaceResult<T>, Self> {
        match self {
            SpaceFuture::Ready(Some(r)) => Ok(r),
            other => Err(other),
        }
    }
}

impl<T> Future for SpaceFuture<'_, T> {
    type Output = SpaceResult<T>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.get_mut() {
            // Polling a completed future is a caller bug (as for any future); it panics in std too.
            SpaceFuture::Ready(r) => {
                Poll::Ready(r.take().expect("SpaceFuture polled after completion"))
            }
            SpaceFuture::Pending(f) => f.as_mut().poll(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn ready_and_pending_both_await() {
        assert_eq!(SpaceFuture::ok(3).await.ok(), Some(3));
        let f = SpaceFuture::boxed(async { Ok(4) });
        let f = match f.now() {
            Ok(_) => panic!("a boxed future is not ready"),
            Err(f) => f,
        };
        assert_eq!(f.await.ok(), Some(4));
        assert!(matches!(SpaceFuture::ok(()).now(), Ok(Ok(()))));
    }
}
