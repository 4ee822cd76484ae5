// Moves the leadership of every partition of the cluster to its preferred replica (the first
// of its replica list), as `kafka-leader-election.sh --election-type=preferred
// --all-topic-partitions` does; that tool is not among the broker's jars, the admin client is.
// Run with the single-file source launcher: java -cp '<broker libs>/*' ElectPreferredLeaders.java <bootstrap>
// Prints one line, "elected=<n> not-needed=<n> failed=<n>", then one line per failure.

import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.ElectionType;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.ElectionNotNeededException;

public class ElectPreferredLeaders {
  public static void main(String[] args) throws Exception {
    Properties properties = new Properties();
    properties.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
    try (Admin admin = Admin.create(properties)) {
      // No partitions named: every partition of the cluster.
      Map<TopicPartition, Optional<Throwable>> results =
          admin.electLeaders(ElectionType.PREFERRED, null).partitions().get();
      int elected = 0;
      int notNeeded = 0;
      StringBuilder failures = new StringBuilder();
      for (Map.Entry<TopicPartition, Optional<Throwable>> result : results.entrySet()) {
        Optional<Throwable> error = result.getValue();
        if (error.isEmpty()) elected++;
        else if (error.get() instanceof ElectionNotNeededException) notNeeded++;
        else failures.append(result.getKey()).append(": ").append(error.get()).append('\n');
      }
      int failed = results.size() - elected - notNeeded;
      System.out.println("elected=" + elected + " not-needed=" + notNeeded + " failed=" + failed);
      System.out.print(failures);
    }
  }
}
