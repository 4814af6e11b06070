using Ladder.Jobs.Testing;
using Ladder.Jobs.Testing.Contract;

namespace Ladder.Jobs.PostgreSql.Tests.Contract;

// The contract suite on PostgreSQL: one line per fixture.

public sealed class PostgresAbandonedHandlerContract : AbandonedHandlerContract
{
    protected override JobStoreFactory CreateFactory() => new PostgresJobStoreFactory();
}

public sealed class PostgresCancelRunningContract : CancelRunningContract
{
    protected override JobStoreFactory CreateFactory() => new PostgresJobStoreFactory();
}

public sealed class PostgresClockStepContract : ClockStepContract
{
    protected override JobStoreFactory CreateFactory() => new PostgresJobStoreFactory();
}

public sealed class PostgresDependencyInjectionContract : DependencyInjectionContract
{
    protected override JobStoreFactory CreateFactory() => new PostgresJobStoreFactory();
}

public sealed class PostgresDispatchContract : DispatchContract
{
    protected override JobStoreFactory CreateFactory() => new PostgresJobStoreFactory();
}

public sealed class PostgresEnqueueContract : EnqueueContract
{
    protected override JobStoreFactory CreateFactory() => new PostgresJobStoreFactory();
}

public sealed class PostgresEnqueueMisuseContract : EnqueueMisuseContract
{
    protected override JobStoreFactory CreateFactory() => new PostgresJobStoreFactory();
}

public sealed class PostgresInspectionContract : InspectionContract
{
    protected override JobStoreFactory CreateFactory() => new PostgresJobStoreFactory();
}

public sealed class PostgresInterruptContract : InterruptContract
{
    protected override JobStoreFactory CreateFactory() => new PostgresJobStoreFactory();
}

public sealed class PostgresJobQueryContract : JobQueryContract
{
    protected override JobStoreFactory CreateFactory() => new PostgresJobStoreFactory();
}

public sealed class PostgresLeaseContract : LeaseContract
{
    protected override JobStoreFactory CreateFactory() => new PostgresJobStoreFactory();
}

public sealed class PostgresNextRunContract : NextRunContract
{
    protected override JobStoreFactory CreateFactory() => new PostgresJobStoreFactory();
}

public sealed class PostgresRescueScheduleContract : RescueScheduleContract
{
    protected override JobStoreFactory CreateFactory() => new PostgresJobStoreFactory();
}

public sealed class PostgresUpkeepScheduleContract : UpkeepScheduleContract
{
    protected override JobStoreFactory CreateFactory() => new PostgresJobStoreFactory();
}

public sealed class PostgresOptionsSnapshotContract : OptionsSnapshotContract
{
    protected override JobStoreFactory CreateFactory() => new PostgresJobStoreFactory();
}

public sealed class PostgresOutcomeWaitContract : OutcomeWaitContract
{
    protected override JobStoreFactory CreateFactory() => new PostgresJobStoreFactory();
}

public sealed class PostgresProcessorContract : ProcessorContract
{
    protected override JobStoreFactory CreateFactory() => new PostgresJobStoreFactory();
}

public sealed class PostgresProcessorRaceContract : ProcessorRaceContract
{
    protected override JobStoreFactory CreateFactory() => new PostgresJobStoreFactory();
}

public sealed class PostgresSiblingContract : SiblingContract
{
    protected override JobStoreFactory CreateFactory() => new PostgresJobStoreFactory();
}

public sealed class PostgresStopAndDisposeContract : StopAndDisposeContract
{
    protected override JobStoreFactory CreateFactory() => new PostgresJobStoreFactory();
}

public sealed class PostgresStoreOwnershipContract : StoreOwnershipContract
{
    protected override JobStoreFactory CreateFactory() => new PostgresJobStoreFactory();
}

public sealed class PostgresTelemetryContract : TelemetryContract
{
    protected override JobStoreFactory CreateFactory() => new PostgresJobStoreFactory();
}

public sealed class PostgresTimerLimitContract : TimerLimitContract
{
    protected override JobStoreFactory CreateFactory() => new PostgresJobStoreFactory();
}

public sealed class PostgresTransactionalEnqueueContract : TransactionalEnqueueContract
{
    protected override JobStoreFactory CreateFactory() => new PostgresJobStoreFactory();
}

public sealed class PostgresUniqueKeyValidationContract : UniqueKeyValidationContract
{
    protected override JobStoreFactory CreateFactory() => new PostgresJobStoreFactory();
}

public sealed class PostgresConcurrencyLimitContract : ConcurrencyLimitContract
{
    protected override JobStoreFactory CreateFactory() => new PostgresJobStoreFactory();
}

public sealed class PostgresRateLimitContract : RateLimitContract
{
    protected override JobStoreFactory CreateFactory() => new PostgresJobStoreFactory();
}

public sealed class PostgresScheduleContract : ScheduleContract
{
    protected override JobStoreFactory CreateFactory() => new PostgresJobStoreFactory();
}
