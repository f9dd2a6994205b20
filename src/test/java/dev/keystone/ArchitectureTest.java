package dev.keystone;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

/**
 * The package structure of docs/architecture.md, as a test: a package cycle, or a leaf that
 * starts to depend on the gateway, fails the build instead of growing quietly.
 */
class ArchitectureTest {

  private static JavaClasses classes;

  @BeforeAll
  static void importMainClasses() {
    classes = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
        .importPackages("dev.keystone");
  }

  @Test
  void noPackageCycles() {
    slices().matching("dev.keystone.(*)..").should().beFreeOfCycles().check(classes);
  }

  @Test
  void theModelIsALeafThatConfigCompilesInto() {
    noClasses().that().resideInAPackage("dev.keystone.model..")
        .should().dependOnClassesThat().resideInAnyPackage("dev.keystone.config..", "dev.keystone.proxy..",
            "dev.keystone.gateway..", "dev.keystone.admin..", "dev.keystone.upstream..", "dev.keystone.engine..",
            "dev.keystone.app..", "io.vertx..", "io.netty..")
        .check(classes);
  }

  @Test
  void scriptsDependOnNothingOfTheGateway() {
    noClasses().that().resideInAnyPackage("dev.keystone.script..", "dev.keystone.routing..", "dev.keystone.metrics..")
        .should().dependOnClassesThat().resideInAnyPackage("dev.keystone.model..", "dev.keystone.config..",
            "dev.keystone.proxy..", "dev.keystone.gateway..", "dev.keystone.admin..", "dev.keystone.upstream..",
            "dev.keystone.engine..", "dev.keystone.app..")
        .check(classes);
  }

  @Test
  void onlyTheLifecycleAndTheCommandLineKnowTheGateway() {
    noClasses().that().resideOutsideOfPackages("dev.keystone.gateway..", "dev.keystone.app..")
        .should().dependOnClassesThat().resideInAPackage("dev.keystone.gateway..")
        .check(classes);
  }
}
