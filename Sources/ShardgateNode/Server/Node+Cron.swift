import NIOCore

extension Node {
    /// Starts the periodic work Redis does in `serverCron`, `hz` times a second.
    func startCron() {
        let interval = TimeAmount.milliseconds(Int64(1000 / max(1, settings.hz)))
        let node = NIOLoopBound(self, eventLoop: loop)
        loop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in node.value.cron() }
    }

    private func cron() {
        let now = self.now
        refreshWallClockOffset()
        // Active expiry: a bounded amount of work per tick so a burst of deadlines cannot stall clients.
        for database in keyspace.databases {
            _ = database.expireDueKeys(now: now, limit: 2000)
        }
        cronTasks(now: now)
    }
}
