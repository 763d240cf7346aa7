//! Counts requests in flight, so a stopping server can wait for exactly those and then close
//! every idle connection at once (actix's graceful stop re-checks its connections only once a
//! second, and phones keep idle connections open). A request counts from the moment it reaches
//! the app until its response body is done (written, or dropped with its connection); an event
//! stream's body, which never ends by itself, ends when the jobs' shutdown signal fires.

use std::future::{Future, Ready, ready};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use actix_web::Error;
use actix_web::body::{BodySize, BoxBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::web::Bytes;
use tokio::sync::Notify;

/// The counter and the middleware: `App::new().wrap(in_flight.clone())`.
#[derive(Debug, Clone, Default)]
pub struct InFlight(Arc<Counter>);

#[derive(Debug, Default)]
struct Counter {
    n: AtomicUsize,
    idle: Notify,
}

/// Decrements on drop, so a request whose future is dropped (client gone) still counts out.
struct Guard(Arc<Counter>);

impl Drop for Guard {
    fn drop(&mut self) {
        if self.0.n.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

impl InFlight {
    /// Requests being handled now.
    pub fn count(&self) -> usize {
        self.0.n.load(Ordering::Acquire)
    }

    /// Waits until no request is being handled, or `limit` has passed; returns whether it is
    /// idle.
    pub async fn idle(&self, limit: Duration) -> bool {
        let wait = async {
            loop {
                // Registered before the check, so a request finishing in between still wakes it.
                let notified = self.0.idle.notified();
                if self.count() == 0 {
                    return;
                }
                notified.await;
            }
        };
        tokio::time::timeout(limit, wait).await.is_ok()
    }
}

impl<S, B> Transform<S, ServiceRequest> for InFlight
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<Counted>;
    type Error = Error;
    type Transform = InFlightService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(InFlightService {
            service,
            counter: self.0.clone(),
        }))
    }
}

/// The service [`InFlight`] wraps around the app.
pub struct InFlightService<S> {
    service: S,
    counter: Arc<Counter>,
}

impl<S, B> Service<ServiceRequest> for InFlightService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<Counted>;
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>>>>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        self.counter.n.fetch_add(1, Ordering::AcqRel);
        let guard = Guard(self.counter.clone());
        let fut = self.service.call(req);
        Box::pin(async move {
            let res = fut.await?;
            Ok(res.map_body(|_, body| Counted {
                body: body.boxed(),
                _guard: guard,
            }))
        })
    }
}

/// A response body that keeps its request counted until it is done (boxed, so it can be
/// polled without pin projection).
pub struct Counted {
    body: BoxBody,
    _guard: Guard,
}

impl MessageBody for Counted {
    type Error = <BoxBody as MessageBody>::Error;

    fn size(&self) -> BodySize {
        self.body.size()
    }

    fn poll_next(
        self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<Bytes, Self::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_next(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn idle_waits_for_the_last_request_to_count_out() {
        let f = InFlight::default();
        assert!(f.idle(Duration::from_millis(1)).await, "nothing in flight");
        f.0.n.fetch_add(1, Ordering::AcqRel);
        let g = Guard(f.0.clone());
        assert!(!f.idle(Duration::from_millis(20)).await, "one in flight");
        let waiter = {
            let f = f.clone();
            tokio::spawn(async move { f.idle(Duration::from_secs(20)).await })
        };
        drop(g);
        assert!(waiter.await.expect("join"), "idle once it counted out");
        assert_eq!(f.count(), 0);
    }
}
