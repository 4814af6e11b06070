using Ladder.Jobs.Testing;
using Ladder.Jobs.Testing.Contract;

namespace Ladder.Jobs.Tests.Contract;

// The contract suite on SQLite: one line per fixture.

public sealed class SqliteAbandonedHandlerContract : AbandonedHandlerContract
{
    protected override JobStoreFactory CreateFactory() => new SqliteJobStoreFactory();
}

public sealed class SqliteCancelRunningContract : CancelRunningContract
{
    protected override JobStoreFactory CreateFactory() => new SqliteJobStoreFactory();
}

public sealed class SqliteClockStepContract : ClockStepContract
{
    protected override JobStoreFactory CreateFactory() => new SqliteJobStoreFactory();
}

public sealed class SqliteDependencyInjectionContract : DependencyInjectionContract
{
    protected override JobStoreFactory CreateFactory() => new SqliteJobStoreFactory();
}

public sealed class SqliteDispatchContract : DispatchContract
{
    protected override JobStoreFactory CreateFactory() => new SqliteJobStoreFactory();
}

public sealed class SqliteEnqueueContract : EnqueueContract
{
    protected override JobStoreFactory CreateFactory() => new SqliteJobStoreFactory();
}

public sealed class SqliteEnqueueMisuseContract : EnqueueMisuseContract
{
    protected override JobStoreFactory CreateFactory() => new SqliteJobStoreFactory();
}

public sealed class SqliteInspectionContract : InspectionContract
{
    protected override JobStoreFactory CreateFactory() => new SqliteJobStoreFactory();
}

public sealed class SqliteInterruptContract : InterruptContract
{
    protected override JobStoreFactory CreateFactory() => new SqliteJobStoreFactory();
}

public sealed class SqliteJobQueryContract : JobQueryContract
{
    protected override JobStoreFactory CreateFactory() => new SqliteJobStoreFactory();
}

public sealed class SqliteLeaseContract : LeaseContract
{
    protected override JobStoreFactory CreateFactory() => new SqliteJobStoreFactory();
}

public sealed class SqliteNextRunContract : NextRunContract
{
    protected override JobStoreFactory CreateFactory() => new SqliteJobStoreFactory();
}

public sealed class SqliteRescueScheduleContract : RescueScheduleContract
{
    protected override JobStoreFactory CreateFactory() => new SqliteJobStoreFactory();
}

public sealed class SqliteUpkeepScheduleContract : UpkeepScheduleContract
{
    protected override JobStoreFactory CreateFactory() => new SqliteJobStoreFactory();
}

public sealed class SqliteOptionsSnapshotContract : OptionsSnapshotContract
{
    protected override JobStoreFactory CreateFactory() => new SqliteJobStoreFactory();
}

public sealed class SqliteOutcomeWaitContract : OutcomeWaitContract
{
    protected override JobStoreFactory CreateFactory() => new SqliteJobStoreFactory();
}

public sealed class SqliteProcessorContract : ProcessorContract
{
    protected override JobStoreFactory CreateFactory() => new SqliteJobStoreFactory();
}

public sealed class SqliteProcessorRaceContract : ProcessorRaceContract
{
    protected override JobStoreFactory CreateFactory() => new SqliteJobStoreFactory();
}

public sealed class SqliteSiblingContract : SiblingContract
{
    protected override JobStoreFactory CreateFactory() => new SqliteJobStoreFactory();
}

public sealed class SqliteStopAndDisposeContract : StopAndDisposeContract
{
    protected override JobStoreFactory CreateFactory() => new SqliteJobStoreFactory();
}

public sealed class SqliteStoreOwnershipContract : StoreOwnershipContract
{
    protected override JobStoreFactory CreateFactory() => new SqliteJobStoreFactory();
}

public sealed class SqliteTelemetryContract : TelemetryContract
{
    protected override JobStoreFactory CreateFactory() => new SqliteJobStoreFactory();
}

public sealed class SqliteTimerLimitContract : TimerLimitContract
{
    protected override JobStoreFactory CreateFactory() => new SqliteJobStoreFactory();
}

public sealed class SqliteTransactionalEnqueueContract : TransactionalEnqueueContract
{
    protected override JobStoreFactory CreateFactory() => new SqliteJobStoreFactory();
}

public sealed class SqliteUniqueKeyValidationContract : UniqueKeyValidationContract
{
    protected override JobStoreFactory CreateFactory() => new SqliteJobStoreFactory();
}

public sealed class SqliteConcurrencyLimitContract : ConcurrencyLimitContract
{
    protected override JobStoreFactory CreateFactory() => new SqliteJobStoreFactory();
}

public sealed class SqliteRateLimitContract : RateLimitContract
{
    protected override JobStoreFactory CreateFactory() => new SqliteJobStoreFactory();
}

public sealed class SqliteScheduleContract : ScheduleContract
{
    protected override JobStoreFactory CreateFactory() => new SqliteJobStoreFactory();
}
