using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Ladder.Jobs;

/// <summary>Registers the <see cref="JobScheduler"/> and schedules declared in code.</summary>
public static class LadderJobsScheduleExtensions
{
    /// <summary>
    /// Registers the <see cref="JobScheduler"/> (singleton, a hosted service) over the queue, with validated
    /// <see cref="JobSchedulerOptions"/>. Idempotent; each call adds its configuration. A host that declares no schedule
    /// but runs schedules set at run time, or should report the orphans of schedules it no longer declares, calls this.
    /// </summary>
    /// <param name="builder">The jobs builder of <c>AddLadderJobs</c>.</param>
    /// <param name="configure">Configures the scheduler, or <see langword="null"/>.</param>
    /// <returns>The builder.</returns>
    public static LadderJobsBuilder AddScheduler(this LadderJobsBuilder builder, Action<JobSchedulerOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = builder.Services.AddOptions<JobSchedulerOptions>().ValidateOnStart();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<JobSchedulerOptions>, JobSchedulerOptionsValidator>());
        builder.Services.TryAddSingleton(sp => new JobScheduler(sp.GetRequiredService<JobQueue>(), sp.GetRequiredService<IOptions<JobSchedulerOptions>>().Value));
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, JobScheduler>(sp => sp.GetRequiredService<JobScheduler>()));
        return builder;
    }

    /// <summary>Declares a schedule in code (and registers the scheduler, see <see cref="AddScheduler"/>): stored when the host starts.</summary>
    /// <param name="builder">The jobs builder.</param>
    /// <param name="schedule">The schedule (see <see cref="JobSchedule.Cron"/> and <see cref="JobSchedule.Every"/>).</param>
    /// <returns>The builder.</returns>
    public static LadderJobsBuilder AddSchedule(this LadderJobsBuilder builder, JobSchedule schedule)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        return builder.AddScheduler(o => o.Schedules.Add(schedule));
    }
}

/// <summary>Validates <see cref="JobSchedulerOptions"/>, listing every failure.</summary>
internal sealed class JobSchedulerOptionsValidator : IValidateOptions<JobSchedulerOptions>
{
    public ValidateOptionsResult Validate(string? name, JobSchedulerOptions options)
    {
        var failures = options.Validate();
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
