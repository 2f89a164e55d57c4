import NIOCore

extension Node {
    /// Starts the periodic work Redis does in `serverCron`, `hz` times a second; each tick schedules
    /// the next from the current `hz`, so CONFIG SET hz takes effect at once.
    func startCron() {
        let interval = TimeAmount.milliseconds(Int64(1000 / max(1, settings.hz)))
        let node = NIOLoopBound(self, eventLoop: loop)
        loop.scheduleTask(in: interval) {
            node.value.cron()
            node.value.startCron()
        }
    }

    private func cron() {
        guard !cronPaused else { return }
        let now = self.now
        refreshWallClockOffset()
        // Active expiry: a bounded amount of work per tick so a burst of deadlines cannot stall clients.
        let expiryStarted = settings.latencyMonitorThreshold > 0 ? Clock.monotonicMicroseconds() : 0
        for database in keyspace.databases where keyspace.activeExpiry {
            _ = database.expireDueKeys(now: now, limit: 2000)
        }
        if settings.latencyMonitorThreshold > 0 {
            // LATENCY's `expire-cycle` event, as Redis samples its active expiry cycle.
            let milliseconds = (Clock.monotonicMicroseconds() - expiryStarted) / 1000
            if milliseconds >= settings.latencyMonitorThreshold {
                monitoring.latency.add("expire-cycle", milliseconds: milliseconds, now: now)
            }
        }
        cronTasks(now: now)
        resizeQueryBuffers(now: now)
        if now - lastSecondlyCron >= 1000 {
            lastSecondlyCron = now
            closeIdleClients(now: now)
            migrateSockets.closeIdle(now: now)
        }
    }
}
